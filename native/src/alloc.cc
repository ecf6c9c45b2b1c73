// A caching CPU allocator for large tensor buffers (installed as libtorch's CPU allocator at load).
//
// Why: a training step allocates and frees the same activation and gradient buffers every step.
// glibc serves buffers above its mmap threshold (at most 32 MiB) with a fresh mmap each time, so
// every op on a large activation faults its pages in again and munmap's TLB shootdowns stall the
// other threads; and when a step's freed memory at the heap's top passes the trim threshold, the
// heap is trimmed and regrown every step. Measured on a 2-conv 64-channel 28x28 network at batch
// 256 (2 threads): 2.6 s per training step, 1.9 s of it system time, against 0.27 s when buffers are
// reused; PyTorch eager behaves the same (2.3 s) under glibc's defaults. Turning glibc's mmap off
// instead (M_MMAP_MAX 0) removes the faults but fragments the heap: 20 rounds of two 64 MiB tensors
// grew the process from 363 to 938 MB.
//
// What: buffers of at least kCachedMin bytes are whole pages from mmap, kept on a free list when
// their tensor dies and handed to the next request of the same size (up to 1/8 larger, so a block
// never wastes more than 12.5%); smaller ones go to c10's alloc_cpu/free_cpu as before. At most
// max(`limit`, the peak of live cached bytes since the last trim) bytes are kept free
// (TSNAS_CPU_CACHE_MB, default 2048; 0 turns the cache off): a freed block that would exceed it is
// unmapped. The peak term keeps a whole step's working set when it is larger than the limit: with
// the limit alone, the NB201 supernet's op-by-op step (then ~3 GiB live at its peak) unmapped ~1 GiB
// of blocks at the end of every step and mapped and faulted them again in the next, 11.3 samples/s
// against 23.9 with the cache off (bench engine's nb201super workload, under the bench lock).
// That peak came from tidy scopes that kept every intermediate of a whole forward pass; since each
// mixed edge (src/oneshot/supernet.ts) and each network stage (forwardStage, src/nn/layers.ts)
// frees its own, the same step (C=16, 5 cells, 32x32, batch 64, 1 thread) peaks at 3115 MB before
// those scopes, 1199 MB with the edge scopes, 984 MB with both (cached bytes after one step with
// TSNAS_CPU_CACHE_MB=1, when the idle blocks kept equal the step's peak; session 11): below the
// default limit, so the peak term now matters only for larger batches or networks.
// Freed memory is kept until trimCache() (called by
// trimMemory() at the end of every training run). The same idea as PyTorch's CUDA caching
// allocator and its mobile CPUCachingAllocator, without block splitting.
#include "alloc.h"

#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <mutex>
#include <new>
#include <unordered_map>

namespace tsnas {
namespace {

constexpr size_t kCachedMin = 1 << 20;  // 1 MiB: below it glibc's heap reuses freed memory well
constexpr size_t kPage = 4096;

struct Cache {
  std::mutex mu;
  std::multimap<size_t, void*> idle;        // block size -> free block
  std::unordered_map<void*, size_t> owned;  // every block handed out -> its size
  size_t idleBytes = 0;
  size_t limit = size_t(2048) << 20;
  size_t peakLive = 0;  // the most live cached bytes since the last trimCache()
  CacheStats stats;
};

Cache& cache() {
  static Cache* c = new Cache();  // never destroyed: tensors may die during process exit
  return *c;
}

void unmap(void* p, size_t size) { munmap(p, size); }

// Takes back a block the cache handed out (`it` points into c.owned, `lock` holds c.mu): keeps it
// idle within the limit, else unmaps it after releasing the lock.
void release(Cache& c, std::unique_lock<std::mutex>& lock, std::unordered_map<void*, size_t>::iterator it) {
  void* p = it->first;
  const size_t size = it->second;
  c.owned.erase(it);
  c.stats.liveBytes -= size;
  if (c.idleBytes + size <= std::max(c.limit, c.peakLive)) {
    c.idle.emplace(size, p);
    c.idleBytes += size;
    return;
  }
  c.stats.mappedBytes -= size;
  lock.unlock();
  unmap(p, size);
}

void freeLarge(void* p) {
  Cache& c = cache();
  std::unique_lock<std::mutex> lock(c.mu);
  auto it = c.owned.find(p);
  if (it == c.owned.end()) std::abort();  // not ours: a deleter mix-up, never silently leak or double-free
  release(c, lock, it);
}

// The raw deleter (libtorch's raw_deallocate, used by oneDNN's scratch buffers) cannot know which
// path allocated a pointer: a large block if the cache owns it, c10's free_cpu otherwise.
void freeAny(void* p) {
  Cache& c = cache();
  std::unique_lock<std::mutex> lock(c.mu);
  auto it = c.owned.find(p);
  if (it == c.owned.end()) {
    lock.unlock();
    c10::free_cpu(p);
    return;
  }
  release(c, lock, it);
}

struct CachingCpuAllocator final : at::Allocator {
  at::DataPtr allocate(size_t n) const override {
    if (n < kCachedMin || cache().limit == 0) {
      void* p = c10::alloc_cpu(n);
      return {p, p, &c10::free_cpu, at::Device(at::DeviceType::CPU)};
    }
    const size_t size = (n + kPage - 1) / kPage * kPage;
    Cache& c = cache();
    {
      std::lock_guard<std::mutex> lock(c.mu);
      auto it = c.idle.lower_bound(size);
      if (it != c.idle.end() && it->first <= size + size / 8) {
        void* p = it->second;
        const size_t got = it->first;
        c.idle.erase(it);
        c.idleBytes -= got;
        c.owned.emplace(p, got);
        c.stats.hits++;
        c.stats.liveBytes += got;
        c.peakLive = std::max(c.peakLive, c.stats.liveBytes);
        return {p, p, &freeLarge, at::Device(at::DeviceType::CPU)};
      }
      c.stats.misses++;
    }
    void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      trimCache();  // give idle blocks back and retry once before reporting out-of-memory
      p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p == MAP_FAILED) throw std::bad_alloc();
    }
    std::lock_guard<std::mutex> lock(c.mu);
    c.owned.emplace(p, size);
    c.stats.liveBytes += size;
    c.peakLive = std::max(c.peakLive, c.stats.liveBytes);
    c.stats.mappedBytes += size;
    return {p, p, &freeLarge, at::Device(at::DeviceType::CPU)};
  }
  at::DeleterFnPtr raw_deleter() const override { return &freeAny; }
};

}  // namespace

void installCachingAllocator() {
  if (const char* mb = std::getenv("TSNAS_CPU_CACHE_MB")) cache().limit = size_t(std::strtoull(mb, nullptr, 10)) << 20;
  static CachingCpuAllocator alloc;
  c10::SetCPUAllocator(&alloc, /*priority=*/1);
}

size_t trimCache() {
  Cache& c = cache();
  std::multimap<size_t, void*> idle;
  {
    std::lock_guard<std::mutex> lock(c.mu);
    idle.swap(c.idle);
    c.stats.mappedBytes -= c.idleBytes;
    c.idleBytes = 0;
    c.peakLive = c.stats.liveBytes;
  }
  size_t released = 0;
  for (auto& [size, p] : idle) {
    unmap(p, size);
    released += size;
  }
  return released;
}

CacheStats cacheStats() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  CacheStats s = c.stats;
  s.idleBytes = c.idleBytes;
  s.limitBytes = c.limit;
  return s;
}

}  // namespace tsnas
