//! A linearizability checker: Wing & Gong's search with Lowe's memoisation, as Porcupine
//! runs it (`checkSingle`), over one object's operations.
//!
//! Why this algorithm: a history of a few thousand operations on one key has far too many
//! orders to try, but the search only ever tries operations that are *minimal* (invoked
//! before every pending operation returned), and it remembers every (set of operations
//! already placed, model state) it has seen, so a configuration is explored once. Histories
//! are split by key first (P-compositionality: a history of independent registers is
//! linearizable iff each key's is), which keeps each search small.
//!
//! Operations whose outcome is unknown (a timeout, a connection lost mid-call) may have
//! taken effect at any moment after their invocation, or never: they get a return time
//! of +∞, so the search may place them anywhere after they began, including after
//! everything else, where a write changes nothing anyone read.
//!
//! The search is bounded (`budget` steps): a history it cannot decide in time is reported
//! as [`Verdict::Undecided`], never as linearizable.

use std::collections::HashSet;
use std::hash::Hash;

/// What one object does: its states and which (input, output) pairs are legal from each.
pub trait Model {
    /// The object's state.
    type State: Clone + Eq + Hash;
    /// What an operation asked for.
    type Input;
    /// What it answered (`None`: the outcome is unknown).
    type Output;
    /// The state before any operation.
    fn init(&self) -> Self::State;
    /// The state after `input` answered `output` from `state`, or `None` if that answer
    /// is impossible from `state`.
    fn step(&self, state: &Self::State, input: &Self::Input, output: Option<&Self::Output>) -> Option<Self::State>;
}

/// One completed (or unknown) operation on one object.
#[derive(Clone, Debug, PartialEq)]
pub struct Operation<I, O> {
    /// When it was invoked (any monotonic unit).
    pub call: u64,
    /// When its answer arrived; `None` if it never did (unknown outcome).
    pub ret: Option<u64>,
    /// What it asked.
    pub input: I,
    /// What it answered, when it did.
    pub output: Option<O>,
}

/// The checker's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Some order of the operations, each within its interval, is legal for the model.
    Linearizable,
    /// None is. `longest` is how many operations the best partial order placed.
    Violation {
        /// How many operations the longest legal partial order placed.
        longest: usize,
    },
    /// The search ran out of its budget.
    Undecided,
}

/// The search's doubly linked list of call and return events, in time order.
struct Events {
    /// `(is_call, op)` per event; a call's partner return is `ret_of[op]`.
    kind: Vec<(bool, usize)>,
    next: Vec<usize>,
    prev: Vec<usize>,
    /// The event index of each operation's call and return.
    call_of: Vec<usize>,
    ret_of: Vec<usize>,
}

/// Index of the sentinel head event.
const HEAD: usize = 0;
/// "No event".
const NIL: usize = usize::MAX;

impl Events {
    fn new<I, O>(ops: &[Operation<I, O>]) -> Self {
        // (time, calls before returns at equal times: touching intervals count as
        // concurrent, the more lenient reading of a shared clock)
        let mut order: Vec<(u64, u8, usize)> = Vec::with_capacity(2 * ops.len());
        for (i, op) in ops.iter().enumerate() {
            order.push((op.call, 0, i));
            order.push((op.ret.unwrap_or(u64::MAX), 1, i));
        }
        order.sort_unstable();
        let n = order.len() + 1;
        let mut e = Events {
            kind: Vec::with_capacity(n),
            next: Vec::with_capacity(n),
            prev: Vec::with_capacity(n),
            call_of: vec![0; ops.len()],
            ret_of: vec![0; ops.len()],
        };
        e.kind.push((false, usize::MAX)); // the head
        for (idx, &(_, is_ret, op)) in order.iter().enumerate() {
            let at = idx + 1;
            e.kind.push((is_ret == 0, op));
            if is_ret == 0 {
                e.call_of[op] = at;
            } else {
                e.ret_of[op] = at;
            }
        }
        for i in 0..n {
            e.next.push(if i + 1 < n { i + 1 } else { NIL });
            e.prev.push(if i == 0 { NIL } else { i - 1 });
        }
        e
    }

    fn unlink(&mut self, at: usize) {
        let (p, n) = (self.prev[at], self.next[at]);
        self.next[p] = n;
        if n != NIL {
            self.prev[n] = p;
        }
    }

    fn relink(&mut self, at: usize) {
        let (p, n) = (self.prev[at], self.next[at]);
        self.next[p] = at;
        if n != NIL {
            self.prev[n] = at;
        }
    }

    /// Takes an operation's call and return out of the list (it is placed).
    fn lift(&mut self, op: usize) {
        self.unlink(self.call_of[op]);
        self.unlink(self.ret_of[op]);
    }

    /// Puts them back (undoing [`Events::lift`], in reverse order).
    fn unlift(&mut self, op: usize) {
        self.relink(self.ret_of[op]);
        self.relink(self.call_of[op]);
    }
}

/// A set of operation indexes, as the memo key.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Bits(Vec<u64>);

impl Bits {
    fn new(n: usize) -> Self {
        Bits(vec![0; n.div_ceil(64)])
    }
    fn set(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }
    fn clear(&mut self, i: usize) {
        self.0[i / 64] &= !(1 << (i % 64));
    }
}

/// Decides whether `ops` (one object's history) is linearizable for `model`, trying at
/// most `budget` search steps.
pub fn check<M: Model>(model: &M, ops: &[Operation<M::Input, M::Output>], budget: u64) -> Verdict {
    let mut events = Events::new(ops);
    let mut placed = Bits::new(ops.len());
    let mut seen: HashSet<(Bits, M::State)> = HashSet::new();
    let mut stack: Vec<(usize, M::State)> = Vec::new();
    let mut state = model.init();
    let mut longest = 0;
    let mut at = events.next[HEAD];
    let mut steps = 0u64;
    while events.next[HEAD] != NIL {
        steps += 1;
        if steps > budget {
            return Verdict::Undecided;
        }
        // Every remaining call has its return later in the list, so the walk meets a
        // return before it runs off the end; `NIL` is treated as one all the same.
        let (is_call, op) = if at == NIL { (false, 0) } else { events.kind[at] };
        if is_call {
            if let Some(after) = model.step(&state, &ops[op].input, ops[op].output.as_ref()) {
                let mut with = placed.clone();
                with.set(op);
                if seen.insert((with.clone(), after.clone())) {
                    stack.push((op, std::mem::replace(&mut state, after)));
                    placed = with;
                    longest = longest.max(stack.len());
                    events.lift(op);
                    at = events.next[HEAD];
                    continue;
                }
            }
            at = events.next[at];
        } else {
            // A return whose call is still pending: nothing after it may go first.
            // Backtrack to the last placed operation and try the next one.
            match stack.pop() {
                None => return Verdict::Violation { longest },
                Some((op, before)) => {
                    events.unlift(op);
                    placed.clear(op);
                    state = before;
                    at = events.next[events.call_of[op]];
                }
            }
        }
    }
    Verdict::Linearizable
}

/// A register holding an optional value: `Write(v)` sets it, `Read` answers it.
#[derive(Clone, Copy, Debug, Default)]
pub struct Register;

/// An operation on a [`Register`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum RegisterOp {
    /// Sets the value (`None` deletes it).
    Write(Option<String>),
    /// Reads the value.
    Read,
}

impl Model for Register {
    type State = Option<String>;
    type Input = RegisterOp;
    /// A read's answer; a write's is `None` (the write answered) — unknown outcomes
    /// come as `Operation::output == None`.
    type Output = Option<String>;

    fn init(&self) -> Self::State {
        None
    }

    fn step(&self, state: &Self::State, input: &RegisterOp, output: Option<&Option<String>>) -> Option<Self::State> {
        match input {
            RegisterOp::Write(v) => Some(v.clone()),
            RegisterOp::Read => match output {
                // A read whose answer is unknown tells nothing.
                None => Some(state.clone()),
                Some(seen) if seen == state => Some(state.clone()),
                Some(_) => None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(call: u64, ret: Option<u64>, v: &str) -> Operation<RegisterOp, Option<String>> {
        Operation { call, ret, input: RegisterOp::Write(Some(v.into())), output: ret.map(|_| None) }
    }
    fn r(call: u64, ret: u64, v: Option<&str>) -> Operation<RegisterOp, Option<String>> {
        Operation { call, ret: Some(ret), input: RegisterOp::Read, output: Some(v.map(str::to_string)) }
    }
    fn verdict(ops: &[Operation<RegisterOp, Option<String>>]) -> Verdict {
        check(&Register, ops, 1_000_000)
    }

    #[test]
    fn sequential_reads_of_the_last_write_are_linearizable() {
        let ops = [r(0, 1, None), w(2, Some(3), "a"), r(4, 5, Some("a")), w(6, Some(7), "b"), r(8, 9, Some("b"))];
        assert_eq!(verdict(&ops), Verdict::Linearizable);
    }

    #[test]
    fn a_stale_read_after_a_write_returned_is_a_violation() {
        let ops = [w(0, Some(1), "a"), w(2, Some(3), "b"), r(4, 5, Some("a"))];
        assert!(matches!(verdict(&ops), Verdict::Violation { .. }));
    }

    #[test]
    fn a_read_of_a_value_never_written_is_a_violation() {
        let ops = [w(0, Some(1), "a"), r(2, 3, Some("z"))];
        assert!(matches!(verdict(&ops), Verdict::Violation { .. }));
    }

    #[test]
    fn concurrent_writes_may_be_read_in_either_order() {
        // Both writes overlap both reads: a then b, read b; or b then a... but the two
        // reads must agree with one order.
        let ops = [w(0, Some(10), "a"), w(1, Some(11), "b"), r(2, 12, Some("b")), r(13, 14, Some("b"))];
        assert_eq!(verdict(&ops), Verdict::Linearizable);
        let flip = [w(0, Some(10), "a"), w(1, Some(11), "b"), r(12, 13, Some("a")), r(14, 15, Some("b"))];
        assert!(matches!(verdict(&flip), Verdict::Violation { .. }), "values cannot go back once both writes returned");
    }

    #[test]
    fn reads_that_disagree_on_the_order_of_concurrent_writes_are_a_violation() {
        // Writes a and b overlap each other; process 1 reads a then b, process 2 reads b
        // then a, all reads after both writes began and before either returned.
        let ops = [
            w(0, Some(100), "a"),
            w(0, Some(100), "b"),
            r(10, 20, Some("a")),
            r(30, 40, Some("b")),
            r(10, 20, Some("b")),
            r(30, 40, Some("a")),
        ];
        // r(10..20)=a and r(10..20)=b can both hold only if a write lands between them,
        // and then the later reads must agree.
        assert!(matches!(verdict(&ops), Verdict::Violation { .. }));
    }

    #[test]
    fn an_unknown_write_may_have_taken_effect_or_not() {
        let took = [w(0, None, "a"), r(5, 6, Some("a"))];
        assert_eq!(verdict(&took), Verdict::Linearizable);
        let did_not = [w(0, None, "a"), r(5, 6, None)];
        assert_eq!(verdict(&did_not), Verdict::Linearizable);
        let late = [w(0, None, "a"), r(5, 6, Some("a")), r(7, 8, None)];
        assert!(matches!(verdict(&late), Verdict::Violation { .. }), "once seen, an unknown write cannot be undone");
    }

    #[test]
    fn an_unknown_write_cannot_take_effect_before_it_was_invoked() {
        let ops = [r(0, 1, Some("a")), w(5, None, "a")];
        assert!(matches!(verdict(&ops), Verdict::Violation { .. }));
    }

    #[test]
    fn a_read_with_an_unknown_answer_constrains_nothing() {
        let ops = [w(0, Some(1), "a"), Operation { call: 2, ret: None, input: RegisterOp::Read, output: None }];
        assert_eq!(verdict(&ops), Verdict::Linearizable);
    }

    #[test]
    fn a_tiny_budget_answers_undecided_not_linearizable() {
        // Twelve concurrent writes and a read of one of them: thousands of orders to
        // try, each cheap (the search's worst case is many concurrent writes).
        let mut ops: Vec<_> = (0..12).map(|i| w(0, Some(1000), &i.to_string())).collect();
        ops.push(r(2000, 2001, Some("7")));
        assert_eq!(check(&Register, &ops, 3), Verdict::Undecided);
        assert_eq!(verdict(&ops), Verdict::Linearizable);
    }

    /// A sequential register run with random concurrency: each operation's interval is
    /// stretched around the instant it took effect, so the history is linearizable by
    /// construction; changing one read's answer to a value never current makes it not.
    #[test]
    fn random_histories_built_linearizable_pass_and_corrupted_ones_fail() {
        let mut rng = crate::rng::Rng::new(42);
        for round in 0..200 {
            let mut value: Option<String> = None;
            let mut ops = Vec::new();
            for t in 0..60u64 {
                let at = t * 10 + 5;
                let (call, ret) = (at - rng.below(30).min(at), at + rng.below(30));
                if rng.below(2) == 0 {
                    let v = format!("v{round}-{t}");
                    value = Some(v.clone());
                    let unknown = rng.below(10) == 0;
                    ops.push(Operation {
                        call,
                        ret: (!unknown).then_some(ret),
                        input: RegisterOp::Write(Some(v)),
                        output: (!unknown).then_some(None),
                    });
                } else {
                    ops.push(Operation { call, ret: Some(ret), input: RegisterOp::Read, output: Some(value.clone()) });
                }
            }
            assert_eq!(verdict(&ops), Verdict::Linearizable, "round {round}");
            if let Some(read) = ops.iter_mut().rev().find(|o| o.input == RegisterOp::Read) {
                read.output = Some(Some("never written".into()));
                assert!(matches!(verdict(&ops), Verdict::Violation { .. }), "round {round}");
            }
        }
    }
}
