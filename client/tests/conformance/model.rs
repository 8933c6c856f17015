//! model test placeholder until written
