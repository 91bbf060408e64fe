//! Asks the CPU to start loading a value's memory before it is read.
//!
//! A visit of every process (`Node::visit_processes`, which a full snapshot makes) reads each
//! process's state from memory it has not touched for a while: one cache miss after another,
//! each waited for in turn. Prefetching the processes a few places ahead lets those loads
//! overlap (see BENCHMARKS.md, "Cold full read, second pass").
//!
//! Why this module allows `unsafe`: the prefetch instruction is only reachable through a
//! `core::arch` intrinsic, which Rust marks unsafe because of its target feature. A prefetch
//! is a hint: it never faults, reads nothing into the program, and is valid for any address,
//! so no caller can cause undefined behaviour through it.

/// The cache line size assumed (x86_64 and most aarch64 parts).
const LINE: usize = 64;

/// Starts loading the cache lines that hold the first `bytes` bytes of `value`. Does nothing
/// on targets without a prefetch intrinsic.
#[inline(always)]
pub(crate) fn prefetch<T: ?Sized>(value: &T, bytes: usize) {
    let start = std::ptr::from_ref(value).cast::<u8>();
    let bytes = bytes.min(std::mem::size_of_val(value));
    // The lines the span touches, from the one its first byte is on.
    let lines = (start.addr() % LINE + bytes).div_ceil(LINE);
    for line in 0..lines {
        prefetch_line(start.wrapping_add(line * LINE));
    }
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
#[allow(unsafe_code)]
fn prefetch_line(at: *const u8) {
    // SAFETY: `prefetcht0` is a hint that never faults and does not read into the program;
    // SSE is part of the x86_64 baseline.
    unsafe { std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(at.cast()) }
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn prefetch_line(_at: *const u8) {}
