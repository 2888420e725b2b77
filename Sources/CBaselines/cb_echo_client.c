#include "cb_ring.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum { KIND_SEND = 1, KIND_RECV = 2 };
#define CB_DATA(kind, value) (((uint64_t)(kind) << 56) | (uint64_t)(uint32_t)(value))

typedef struct {
  int fd;
  uint32_t sent;
  uint32_t received;
  uint64_t rounds_left;
  uint64_t round;
} cb_client_connection;

/// The bytes of round `round` on connection `index`: differ per connection and
/// per round, so an echo from the wrong stream or a stale round is caught.
static void cb_fill(unsigned char *message, uint32_t size, uint32_t index, uint64_t round) {
  for (uint32_t i = 0; i < size; i++) {
    message[i] = (unsigned char)(index * 31u + round * 7u + i);
  }
}

static struct io_uring_sqe *cb_client_sqe(struct io_uring *ring) {
  struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
  while (sqe == NULL) {
    io_uring_submit(ring);
    sqe = io_uring_get_sqe(ring);
  }
  return sqe;
}

static void cb_prep_send(struct io_uring *ring, cb_client_connection *connection,
                         unsigned char *message, uint32_t size, uint32_t index) {
  struct io_uring_sqe *sqe = cb_client_sqe(ring);
  io_uring_prep_send(sqe, connection->fd, message + connection->sent, size - connection->sent,
                     MSG_NOSIGNAL);
  io_uring_sqe_set_data64(sqe, CB_DATA(KIND_SEND, index));
}

static void cb_prep_recv(struct io_uring *ring, cb_client_connection *connection,
                         unsigned char *message, uint32_t size, uint32_t index) {
  struct io_uring_sqe *sqe = cb_client_sqe(ring);
  io_uring_prep_recv(sqe, connection->fd, message + connection->received,
                     size - connection->received, 0);
  io_uring_sqe_set_data64(sqe, CB_DATA(KIND_RECV, index));
}

/// Starts round trip `round` of connection `index`: the send and the receive
/// of its echo go to the kernel together.
static void cb_start_round(struct io_uring *ring, cb_client_connection *connection,
                           unsigned char *out, unsigned char *in, uint32_t size, uint32_t index) {
  cb_fill(out, size, index, connection->round);
  connection->sent = 0;
  connection->received = 0;
  cb_prep_send(ring, connection, out, size, index);
  cb_prep_recv(ring, connection, in, size, index);
}

cb_result cb_echo_client(uint16_t port, uint32_t connections, uint32_t message_size,
                         uint64_t messages) {
  if (connections == 0 || message_size == 0) return cb_failure(EINVAL);
  uint64_t per_connection = (messages + connections - 1) / connections;
  cb_client_connection *state = calloc(connections, sizeof *state);
  unsigned char *out = malloc((size_t)connections * message_size);
  unsigned char *in = malloc((size_t)connections * message_size);
  unsigned char *expected = malloc(message_size);
  if (state == NULL || out == NULL || in == NULL || expected == NULL) {
    free(state);
    free(out);
    free(in);
    free(expected);
    return cb_failure(ENOMEM);
  }
  cb_result result = {0};
  uint32_t opened = 0;
  struct sockaddr_in address;
  memset(&address, 0, sizeof address);
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (; opened < connections; opened++) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0) {
      result.error = errno;
      break;
    }
    if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0) {
      result.error = errno;
      close(fd);
      break;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    state[opened].fd = fd;
    state[opened].rounds_left = per_connection;
  }
  struct io_uring ring;
  int ring_ready = 0;
  if (result.error == 0) {
    int status = cb_ring_init(&ring, cb_pow2(connections * 2 < 8 ? 8 : connections * 2),
                              &result.ring_flags);
    if (status < 0) {
      result.error = -status;
    } else {
      ring_ready = 1;
    }
  }
  if (result.error == 0) {
    uint64_t start = cb_now_ns();
    uint32_t active = connections;
    for (uint32_t index = 0; index < connections; index++) {
      cb_start_round(&ring, &state[index], out + (size_t)index * message_size,
                     in + (size_t)index * message_size, message_size, index);
    }
    while (active > 0 && result.error == 0) {
      int submitted = io_uring_submit_and_wait(&ring, 1);
      if (submitted < 0 && submitted != -EINTR) {
        result.error = -submitted;
        break;
      }
      unsigned head, seen = 0;
      struct io_uring_cqe *cqe;
      io_uring_for_each_cqe(&ring, head, cqe) {
        seen++;
        uint32_t index = (uint32_t)cqe->user_data;
        cb_client_connection *connection = &state[index];
        unsigned char *message_out = out + (size_t)index * message_size;
        unsigned char *message_in = in + (size_t)index * message_size;
        if (cqe->res <= 0) {
          if (result.error == 0) result.error = cqe->res < 0 ? -cqe->res : ECONNRESET;
          continue;
        }
        if ((cqe->user_data >> 56) == KIND_SEND) {
          connection->sent += (uint32_t)cqe->res;
          if (connection->sent < message_size) {
            cb_prep_send(&ring, connection, message_out, message_size, index);
            continue;
          }
        } else {
          connection->received += (uint32_t)cqe->res;
          if (connection->received < message_size) {
            cb_prep_recv(&ring, connection, message_in, message_size, index);
            continue;
          }
        }
        // The round trip ends when both its send and its receive completed
        // (their CQEs may come in either order).
        if (connection->sent < message_size || connection->received < message_size) continue;
        cb_fill(expected, message_size, index, connection->round);
        if (memcmp(expected, message_in, message_size) != 0) {
          if (result.error == 0) result.error = EBADMSG;
          continue;
        }
        result.operations++;
        result.bytes += message_size;
        connection->round++;
        if (--connection->rounds_left > 0) {
          cb_start_round(&ring, connection, message_out, message_in, message_size, index);
        } else {
          active--;
        }
      }
      io_uring_cq_advance(&ring, seen);
    }
    result.nanoseconds = cb_now_ns() - start;
  }
  // Tearing the ring down cancels and waits for what is in flight (after an
  // error) before the buffers and descriptors go.
  if (ring_ready) io_uring_queue_exit(&ring);
  for (uint32_t index = 0; index < opened; index++) close(state[index].fd);
  free(state);
  free(out);
  free(in);
  free(expected);
  return result;
}

cb_result cb_echo(uint32_t connections, uint32_t message_size, uint64_t messages) {
  int32_t error = 0;
  cb_echo_server *server = cb_echo_server_start(0, 256, 4096, &error);
  if (server == NULL) return cb_failure(error);
  cb_result result = cb_echo_client(cb_echo_server_port(server), connections, message_size,
                                    messages);
  int32_t server_error = cb_echo_server_error(server);
  cb_echo_server_stop(server);
  if (result.error == 0 && server_error != 0) result.error = server_error;
  return result;
}
