#include "cb_ring.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

// user_data: kind in the top byte, a descriptor or buffer id below.
enum { KIND_ACCEPT = 1, KIND_RECV = 2, KIND_SEND = 3, KIND_STOP = 4 };
#define CB_DATA(kind, value) (((uint64_t)(kind) << 56) | (uint64_t)(uint32_t)(value))
#define CB_KIND(data) ((unsigned)((data) >> 56))
#define CB_VALUE(data) ((uint32_t)(data))

/// One received chunk, sent back from the buffer it arrived in.
typedef struct {
  int32_t fd;
  uint32_t length;
  uint32_t sent;
  int32_t next;  // next queued buffer of the same connection, or -1
} cb_chunk;

/// Per descriptor: the chunks waiting to go back, in arrival order. One send
/// per connection is in flight at a time, so the stream keeps its order.
typedef struct {
  int32_t head, tail;
  uint8_t open, sending, closing;
} cb_connection;

struct cb_echo_server {
  pthread_t thread;
  int listen_fd;
  int wake_fd;
  uint16_t port;
  uint32_t buffer_count;
  uint32_t buffer_size;
  _Atomic uint64_t bytes;
  _Atomic int32_t error;
  pthread_mutex_t lock;
  pthread_cond_t started_signal;
  int started;  // 1 ready, -1 failed (under lock)

  // Server thread only.
  struct io_uring ring;
  struct io_uring_buf_ring *buffer_ring;
  size_t buffer_ring_size;
  unsigned char *memory;
  cb_chunk *chunks;
  cb_connection *connections;
  uint32_t connection_capacity;
  uint64_t wake_value;
  int stopping;
};

static void cb_note_error(cb_echo_server *server, int error) {
  int32_t none = 0;
  atomic_compare_exchange_strong_explicit(&server->error, &none, error, memory_order_relaxed,
                                          memory_order_relaxed);
}

/// An SQE, flushing the submission queue first when it is full.
static struct io_uring_sqe *cb_sqe(cb_echo_server *server) {
  struct io_uring_sqe *sqe = io_uring_get_sqe(&server->ring);
  while (sqe == NULL) {
    io_uring_submit(&server->ring);
    sqe = io_uring_get_sqe(&server->ring);
  }
  return sqe;
}

static void cb_arm_accept(cb_echo_server *server) {
  struct io_uring_sqe *sqe = cb_sqe(server);
  io_uring_prep_multishot_accept(sqe, server->listen_fd, NULL, NULL, SOCK_CLOEXEC);
  io_uring_sqe_set_data64(sqe, CB_DATA(KIND_ACCEPT, 0));
}

static void cb_arm_recv(cb_echo_server *server, int fd) {
  struct io_uring_sqe *sqe = cb_sqe(server);
  io_uring_prep_recv_multishot(sqe, fd, NULL, 0, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = 0;
  io_uring_sqe_set_data64(sqe, CB_DATA(KIND_RECV, fd));
}

static void cb_send_chunk(cb_echo_server *server, int32_t id) {
  cb_chunk *chunk = &server->chunks[id];
  struct io_uring_sqe *sqe = cb_sqe(server);
  io_uring_prep_send(sqe, chunk->fd, server->memory + (size_t)id * server->buffer_size + chunk->sent,
                     chunk->length - chunk->sent, MSG_NOSIGNAL);
  io_uring_sqe_set_data64(sqe, CB_DATA(KIND_SEND, id));
}

/// Gives buffer `id` back to the provided-buffer ring.
static void cb_recycle(cb_echo_server *server, int32_t id) {
  io_uring_buf_ring_add(server->buffer_ring, server->memory + (size_t)id * server->buffer_size,
                        server->buffer_size, (unsigned short)id,
                        io_uring_buf_ring_mask(server->buffer_count), 0);
  io_uring_buf_ring_advance(server->buffer_ring, 1);
}

static int cb_track(cb_echo_server *server, int fd) {
  if ((uint32_t)fd >= server->connection_capacity) {
    uint32_t capacity = cb_pow2((uint32_t)fd + 1);
    cb_connection *grown = realloc(server->connections, capacity * sizeof *grown);
    if (grown == NULL) return ENOMEM;
    memset(grown + server->connection_capacity, 0,
           (capacity - server->connection_capacity) * sizeof *grown);
    server->connections = grown;
    server->connection_capacity = capacity;
  }
  cb_connection *connection = &server->connections[fd];
  connection->head = connection->tail = -1;
  connection->open = 1;
  connection->sending = connection->closing = 0;
  return 0;
}

/// Closes `fd` once nothing of it is queued or being sent.
static void cb_close_when_idle(cb_echo_server *server, int fd) {
  cb_connection *connection = &server->connections[fd];
  connection->closing = 1;
  if (connection->open && !connection->sending && connection->head < 0) {
    connection->open = 0;
    close(fd);
  }
}

static void cb_on_accept(cb_echo_server *server, struct io_uring_cqe *cqe) {
  if (cqe->res >= 0) {
    int fd = cqe->res;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int status = cb_track(server, fd);
    if (status != 0) {
      cb_note_error(server, status);
      close(fd);
    } else {
      cb_arm_recv(server, fd);
    }
  } else if (!server->stopping && cqe->res != -ECANCELED) {
    cb_note_error(server, -cqe->res);
  }
  if (!(cqe->flags & IORING_CQE_F_MORE) && !server->stopping) cb_arm_accept(server);
}

static void cb_on_recv(cb_echo_server *server, struct io_uring_cqe *cqe) {
  int fd = (int)CB_VALUE(cqe->user_data);
  cb_connection *connection = &server->connections[fd];
  if (cqe->res > 0 && (cqe->flags & IORING_CQE_F_BUFFER)) {
    int32_t id = (int32_t)(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
    cb_chunk *chunk = &server->chunks[id];
    chunk->fd = fd;
    chunk->length = (uint32_t)cqe->res;
    chunk->sent = 0;
    chunk->next = -1;
    if (connection->tail >= 0) {
      server->chunks[connection->tail].next = id;
    } else {
      connection->head = id;
    }
    connection->tail = id;
    if (!connection->sending) {
      connection->sending = 1;
      cb_send_chunk(server, id);
    }
    if (!(cqe->flags & IORING_CQE_F_MORE)) cb_arm_recv(server, fd);
    return;
  }
  if (cqe->res == -ENOBUFS && !server->stopping) {
    // Every buffer is queued for sending: ask again (they come back as sends
    // complete).
    cb_arm_recv(server, fd);
    return;
  }
  if (cqe->flags & IORING_CQE_F_MORE) return;
  // End of stream, reset or cancellation: this connection is done.
  if (cqe->res < 0 && cqe->res != -ECONNRESET && cqe->res != -ECANCELED && !server->stopping) {
    cb_note_error(server, -cqe->res);
  }
  cb_close_when_idle(server, fd);
}

static void cb_on_send(cb_echo_server *server, struct io_uring_cqe *cqe) {
  int32_t id = (int32_t)CB_VALUE(cqe->user_data);
  cb_chunk *chunk = &server->chunks[id];
  cb_connection *connection = &server->connections[chunk->fd];
  if (cqe->res > 0) {
    chunk->sent += (uint32_t)cqe->res;
    if (chunk->sent < chunk->length) {
      cb_send_chunk(server, id);
      return;
    }
    atomic_fetch_add_explicit(&server->bytes, chunk->length, memory_order_relaxed);
  } else {
    // The peer went away: drop what is queued for it.
    if (cqe->res != -EPIPE && cqe->res != -ECONNRESET && !server->stopping) {
      cb_note_error(server, cqe->res < 0 ? -cqe->res : EIO);
    }
    connection->closing = 1;
  }
  connection->head = chunk->next;
  if (connection->head < 0) connection->tail = -1;
  cb_recycle(server, id);
  if (connection->closing) {
    // Drop the rest of the queue: nobody reads it any more.
    while (cqe->res <= 0 && connection->head >= 0) {
      int32_t dropped = connection->head;
      connection->head = server->chunks[dropped].next;
      cb_recycle(server, dropped);
    }
    if (connection->head < 0) connection->tail = -1;
  }
  if (connection->head >= 0) {
    cb_send_chunk(server, connection->head);
  } else {
    connection->sending = 0;
    if (connection->closing) cb_close_when_idle(server, chunk->fd);
  }
}

static int cb_setup_buffers(cb_echo_server *server) {
  server->buffer_ring_size = server->buffer_count * sizeof(struct io_uring_buf);
  void *ring_memory = mmap(NULL, server->buffer_ring_size, PROT_READ | PROT_WRITE,
                           MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (ring_memory == MAP_FAILED) return errno;
  server->buffer_ring = ring_memory;
  if (posix_memalign((void **)&server->memory, 4096,
                     (size_t)server->buffer_count * server->buffer_size) != 0) {
    return ENOMEM;
  }
  server->chunks = calloc(server->buffer_count, sizeof *server->chunks);
  if (server->chunks == NULL) return ENOMEM;
  struct io_uring_buf_reg registration;
  memset(&registration, 0, sizeof registration);
  registration.ring_addr = (uint64_t)(uintptr_t)ring_memory;
  registration.ring_entries = server->buffer_count;
  registration.bgid = 0;
  int status = io_uring_register_buf_ring(&server->ring, &registration, 0);
  if (status < 0) return -status;
  io_uring_buf_ring_init(server->buffer_ring);
  for (uint32_t id = 0; id < server->buffer_count; id++) {
    io_uring_buf_ring_add(server->buffer_ring, server->memory + (size_t)id * server->buffer_size,
                          server->buffer_size, (unsigned short)id,
                          io_uring_buf_ring_mask(server->buffer_count), (int)id);
  }
  io_uring_buf_ring_advance(server->buffer_ring, (int)server->buffer_count);
  return 0;
}

static void cb_report_start(cb_echo_server *server, int state, int error) {
  if (error) cb_note_error(server, error);
  pthread_mutex_lock(&server->lock);
  server->started = state;
  pthread_cond_signal(&server->started_signal);
  pthread_mutex_unlock(&server->lock);
}

static void *cb_server_main(void *opaque) {
  cb_echo_server *server = opaque;
  uint32_t flags;
  // The ring is created here: with SINGLE_ISSUER only its creator may submit.
  int status = cb_ring_init(&server->ring, 1024, &flags);
  if (status < 0) {
    cb_report_start(server, -1, -status);
    return NULL;
  }
  status = cb_setup_buffers(server);
  if (status != 0) {
    io_uring_queue_exit(&server->ring);
    cb_report_start(server, -1, status);
    return NULL;
  }
  cb_arm_accept(server);
  struct io_uring_sqe *sqe = cb_sqe(server);
  io_uring_prep_read(sqe, server->wake_fd, &server->wake_value, sizeof server->wake_value, 0);
  io_uring_sqe_set_data64(sqe, CB_DATA(KIND_STOP, 0));
  cb_report_start(server, 1, 0);

  while (!server->stopping) {
    int submitted = io_uring_submit_and_wait(&server->ring, 1);
    if (submitted < 0 && submitted != -EINTR) {
      cb_note_error(server, -submitted);
      break;
    }
    unsigned head, seen = 0;
    struct io_uring_cqe *cqe;
    io_uring_for_each_cqe(&server->ring, head, cqe) {
      seen++;
      switch (CB_KIND(cqe->user_data)) {
        case KIND_ACCEPT: cb_on_accept(server, cqe); break;
        case KIND_RECV: cb_on_recv(server, cqe); break;
        case KIND_SEND: cb_on_send(server, cqe); break;
        case KIND_STOP: server->stopping = 1; break;
      }
    }
    io_uring_cq_advance(&server->ring, seen);
  }
  // Tearing the ring down cancels what is in flight and waits for it; then the
  // descriptors and the memory the kernel used can go.
  io_uring_queue_exit(&server->ring);
  for (uint32_t fd = 0; fd < server->connection_capacity; fd++) {
    if (server->connections[fd].open) close((int)fd);
  }
  return NULL;
}

cb_echo_server *cb_echo_server_start(uint16_t port, uint32_t buffer_count,
                                     uint32_t buffer_size, int32_t *error) {
  *error = 0;
  if (buffer_count == 0 || buffer_count > 32768 || (buffer_count & (buffer_count - 1)) ||
      buffer_size == 0) {
    *error = EINVAL;
    return NULL;
  }
  cb_echo_server *server = calloc(1, sizeof *server);
  if (server == NULL) {
    *error = ENOMEM;
    return NULL;
  }
  server->buffer_count = buffer_count;
  server->buffer_size = buffer_size;
  server->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  server->wake_fd = eventfd(0, EFD_CLOEXEC);
  struct sockaddr_in address;
  memset(&address, 0, sizeof address);
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  int one = 1;
  if (server->listen_fd < 0 || server->wake_fd < 0 ||
      setsockopt(server->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      bind(server->listen_fd, (struct sockaddr *)&address, sizeof address) != 0 ||
      listen(server->listen_fd, 1024) != 0 ||
      getsockname(server->listen_fd, (struct sockaddr *)&address, &length) != 0) {
    *error = errno;
    if (server->listen_fd >= 0) close(server->listen_fd);
    if (server->wake_fd >= 0) close(server->wake_fd);
    free(server);
    return NULL;
  }
  server->port = ntohs(address.sin_port);
  pthread_mutex_init(&server->lock, NULL);
  pthread_cond_init(&server->started_signal, NULL);
  int status = pthread_create(&server->thread, NULL, cb_server_main, server);
  int started = 0;
  if (status == 0) {
    pthread_mutex_lock(&server->lock);
    while (server->started == 0) pthread_cond_wait(&server->started_signal, &server->lock);
    started = server->started;
    pthread_mutex_unlock(&server->lock);
    if (started < 0) pthread_join(server->thread, NULL);
  }
  if (status != 0 || started < 0) {
    *error = status != 0 ? status : atomic_load(&server->error);
    close(server->listen_fd);
    close(server->wake_fd);
    if (server->buffer_ring) munmap(server->buffer_ring, server->buffer_ring_size);
    free(server->memory);
    free(server->chunks);
    free(server);
    return NULL;
  }
  return server;
}

uint16_t cb_echo_server_port(const cb_echo_server *server) { return server->port; }

uint64_t cb_echo_server_bytes(const cb_echo_server *server) {
  return atomic_load_explicit(&((cb_echo_server *)server)->bytes, memory_order_relaxed);
}

int32_t cb_echo_server_error(const cb_echo_server *server) {
  return atomic_load_explicit(&((cb_echo_server *)server)->error, memory_order_relaxed);
}

void cb_echo_server_stop(cb_echo_server *server) {
  if (server == NULL) return;
  uint64_t one = 1;
  ssize_t written = write(server->wake_fd, &one, sizeof one);
  (void)written;
  pthread_join(server->thread, NULL);
  close(server->listen_fd);
  close(server->wake_fd);
  munmap(server->buffer_ring, server->buffer_ring_size);
  free(server->memory);
  free(server->chunks);
  free(server->connections);
  pthread_mutex_destroy(&server->lock);
  pthread_cond_destroy(&server->started_signal);
  free(server);
}
