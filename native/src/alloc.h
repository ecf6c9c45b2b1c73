// The caching CPU allocator for large tensor buffers (alloc.cc has the why and the policy).
#pragma once
#include <cstddef>
#include <cstdint>

namespace tsnas {

struct CacheStats {
  uint64_t hits = 0;         // large requests served from a freed block
  uint64_t misses = 0;       // large requests that mapped a new block
  size_t liveBytes = 0;      // bytes in large blocks held by tensors
  size_t idleBytes = 0;      // bytes in freed blocks kept for reuse
  size_t mappedBytes = 0;    // live + idle
  size_t limitBytes = 0;     // most idle bytes kept (TSNAS_CPU_CACHE_MB)
};

// Makes libtorch's CPU tensors allocate through the cache (once, at addon load).
void installCachingAllocator();
// Unmaps every idle block; returns the bytes released. Thread-safe.
size_t trimCache();
CacheStats cacheStats();

}  // namespace tsnas
