//! An instance's memory limit, counted over all of its linear memories: an
//! app composed on provider components has one memory per component, and
//! the layers must not multiply what `--max-memory` allows.

use wasmtime::ResourceLimiter;

/// The store's resource limiter: linear memory summed over the instance's
/// memories, trapping the instance past the limit (so that it ends with a
/// clear reason rather than a failed `memory.grow` it may not check).
#[derive(Debug)]
pub struct MemoryLimit {
    /// Most bytes all memories may hold together.
    max: usize,
    /// Bytes they hold now (counted when a growth is allowed).
    used: usize,
}

impl MemoryLimit {
    /// A limit of `max` bytes over all memories.
    pub fn new(max: usize) -> MemoryLimit {
        MemoryLimit { max, used: 0 }
    }
}

impl ResourceLimiter for MemoryLimit {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let total = self.used.saturating_add(desired.saturating_sub(current));
        if total > self.max || maximum.is_some_and(|m| desired > m) {
            // The words `exit.rs` recognises, as wasmtime's own limiter says them.
            wasmtime::bail!(
                "forcing trap when growing memory to {desired} bytes: the instance's memories would hold {total} bytes, over its limit of {}",
                self.max
            );
        }
        self.used = total;
        Ok(true)
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        Err(error.context("forcing a memory growth failure to be a trap"))
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(maximum.is_none_or(|m| desired <= m))
    }
}
