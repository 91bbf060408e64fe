//! The harness's global allocator: the system allocator, counting the bytes live.
//!
//! Memory per idle worker (row 2) and "everything freed" (row 3) are read from here, as the
//! allocator sees them: requested sizes, without malloc's own headers or fragmentation, for
//! every Rust library alike (the BEAM reports its own `:erlang.memory(:total)`).
//!
//! The count is split over cache-padded shards, one per thread (by a number each thread takes
//! once), so that two threads allocating at once do not pass one counter's cache line back
//! and forth: the counting must not slow the message rows of one library more than another's.
//! A shard may go negative (a block freed on another thread than the one that allocated it);
//! only the sum means anything.

// `GlobalAlloc` is an unsafe trait; every method only forwards to `System` and counts.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};

/// How many shards: more than the threads the harness runs at once.
const SHARDS: usize = 64;

/// One shard's count, alone on its cache line.
#[repr(align(128))]
struct Shard(AtomicIsize);

/// Bytes allocated and not yet freed, split by thread.
static LIVE: [Shard; SHARDS] = [const { Shard(AtomicIsize::new(0)) }; SHARDS];

/// The next shard a new thread takes.
static NEXT_SHARD: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// This thread's shard, taken at its first allocation (`usize::MAX` until then). A const
    /// `Cell` has no destructor and never allocates, so the allocator may read it.
    static MY_SHARD: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// The system allocator, counting the bytes live.
pub(crate) struct Counting;

fn add(bytes: isize) {
    let shard = MY_SHARD
        .try_with(|mine| {
            let mut shard = mine.get();
            if shard == usize::MAX {
                shard = NEXT_SHARD.fetch_add(1, Ordering::Relaxed) % SHARDS;
                mine.set(shard);
            }
            shard
        })
        // A thread being torn down has lost its locals; shard 0 takes its last frees.
        .unwrap_or(0);
    LIVE[shard].0.fetch_add(bytes, Ordering::Relaxed);
}

/// Bytes live now, all threads together.
pub(crate) fn live_bytes() -> isize {
    LIVE.iter()
        .map(|shard| shard.0.load(Ordering::Relaxed))
        .sum()
}

// SAFETY: every method forwards to `System` with the same arguments and only adds counting,
// which neither allocates nor unwinds.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            add(layout.size() as isize);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            add(layout.size() as isize);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is.
        unsafe { System.dealloc(ptr, layout) };
        add(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded as is.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            add(new_size as isize - layout.size() as isize);
        }
        new
    }
}
