//! Which stored vectors a search may return: node ids, source documents, metadata
//! filters (LlamaIndex's `MetadataFilters`).

use super::Slot;
use crate::vector::filter;
use strata_api::{Error, MetadataFilters};

/// Which stored vectors a search may return.
pub struct Restriction<'a> {
    /// Only these node ids.
    pub node_ids: Option<&'a [String]>,
    /// Only these source documents.
    pub doc_ids: Option<&'a [String]>,
    /// Only vectors whose metadata passes.
    pub filters: Option<&'a MetadataFilters>,
}

impl Restriction<'_> {
    /// Whether `slot` may be returned.
    pub fn allows(&self, slot: &Slot) -> Result<bool, Error> {
        if !self.allows_ignoring_filters(slot) {
            return Ok(false);
        }
        match self.filters {
            Some(f) => filter::matches(f, &slot.metadata),
            None => Ok(true),
        }
    }

    /// Whether `slot` is alive and passes the node id and document restrictions.
    pub(super) fn allows_ignoring_filters(&self, slot: &Slot) -> bool {
        if !slot.alive {
            return false;
        }
        if let Some(ids) = self.node_ids
            && !ids.iter().any(|id| **id == *slot.node_id)
        {
            return false;
        }
        if let Some(docs) = self.doc_ids {
            let Some(doc) = &slot.ref_doc_id else { return false };
            if !docs.iter().any(|d| **d == **doc) {
                return false;
            }
        }
        true
    }

    /// True when nothing is restricted.
    pub fn is_open(&self) -> bool {
        self.node_ids.is_none() && self.doc_ids.is_none() && self.filters.is_none_or(|f| f.filters.is_empty())
    }
}
