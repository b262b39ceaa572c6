#pragma once
// A provided-buffer ring: a pool of equal read buffers that the kernel picks from when a receive *completes*, not
// when it is submitted. That is what lets an idle connection own no read buffer: its pending recv names a buffer
// group, and only a connection that actually received bytes holds one, for as long as the loop takes to consume them.
//
// Ownership of a buffer (the invariant every user keeps):
//   - in the ring (after give_back / at start): the kernel's; user code must not touch its bytes;
//   - named by a CQE with IORING_CQE_F_BUFFER: the loop's, until it calls give_back(id) exactly once. That holds for
//     every such CQE, including those of connections being closed: a buffer not given back is lost to the pool.
// liburing 2.3 has no io_uring_setup_buf_ring, so the ring's memory is mmap'ed here and registered by address.
//
// The kernel takes buffers from the ring's head and returned ones go to its tail, so every buffer in the ring gets
// touched in turn: the resident cost is all of them, which is why the pool is small and does not grow.
#include <liburing.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <system_error>

namespace tvt::uring {

class BufferRing {
 public:
  // `count` (the buffers, and the ring's entries) must be a power of two (the ring's index mask) and at most 32768.
  BufferRing(std::uint16_t group_id, unsigned count, std::size_t buffer_bytes)
      : group_id_(group_id), count_(count), buffer_bytes_(buffer_bytes) {
    ring_bytes_ = count_ * sizeof(io_uring_buf);
    void* ring = ::mmap(nullptr, ring_bytes_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (ring == MAP_FAILED) throw std::system_error(errno, std::generic_category(), "mmap(buffer ring)");
    ring_ = static_cast<io_uring_buf_ring*>(ring);
    // Buffers are mmap'ed too: untouched pages cost nothing, and munmap gives them back to the system at once.
    void* data = ::mmap(nullptr, count_ * buffer_bytes_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (data == MAP_FAILED) {
      ::munmap(ring_, ring_bytes_);
      throw std::system_error(errno, std::generic_category(), "mmap(read buffers)");
    }
    data_ = static_cast<char*>(data);
  }
  BufferRing(const BufferRing&) = delete;
  BufferRing& operator=(const BufferRing&) = delete;
  // Unmapped only after the ring that used them is gone (declare the Ring after this object).
  ~BufferRing() {
    ::munmap(data_, count_ * buffer_bytes_);
    ::munmap(ring_, ring_bytes_);
  }

  // Registers the ring with `ring` and hands every buffer to the kernel.
  void register_with(io_uring* ring) {
    io_uring_buf_reg registration{};
    registration.ring_addr = reinterpret_cast<std::uintptr_t>(ring_);
    registration.ring_entries = count_;
    registration.bgid = group_id_;
    const int result = io_uring_register_buf_ring(ring, &registration, 0);
    if (result < 0) throw std::system_error(-result, std::generic_category(), "io_uring_register_buf_ring");
    io_uring_buf_ring_init(ring_);
    for (unsigned i = 0; i < count_; ++i)
      io_uring_buf_ring_add(ring_, buffer(i), static_cast<unsigned>(buffer_bytes_), static_cast<std::uint16_t>(i),
                            io_uring_buf_ring_mask(count_), static_cast<int>(i));
    io_uring_buf_ring_advance(ring_, static_cast<int>(count_));
  }

  std::uint16_t group_id() const { return group_id_; }

  // The bytes a completion delivered into buffer `id`.
  std::string_view bytes(std::uint16_t id, std::size_t length) const { return {buffer(id), length}; }

  // Returns buffer `id` to the kernel (the tail store is a release: the kernel sees the entry before the new tail).
  void give_back(std::uint16_t id) {
    io_uring_buf_ring_add(ring_, buffer(id), static_cast<unsigned>(buffer_bytes_), id, io_uring_buf_ring_mask(count_),
                          0);
    io_uring_buf_ring_advance(ring_, 1);
  }

 private:
  char* buffer(unsigned id) const { return data_ + static_cast<std::size_t>(id) * buffer_bytes_; }

  std::uint16_t group_id_;
  unsigned count_;
  std::size_t buffer_bytes_;
  std::size_t ring_bytes_ = 0;
  io_uring_buf_ring* ring_ = nullptr;
  char* data_ = nullptr;
};

}  // namespace tvt::uring
