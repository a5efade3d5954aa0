#include "agent/lab/prober.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "agent/lab/netns.h"
#include "policy-compiler/status_macros.h"

namespace flatwall::lab {
namespace {

using Clock = std::chrono::steady_clock;
using compiler::IpAddress;
using compiler::Protocol;

// UDP has no retransmission of its own; a datagram lost while a neighbour entry was being
// resolved must not read as a deny.
constexpr auto kUdpResendInterval = std::chrono::milliseconds(200);
constexpr char kRequest[] = "probe\n";
constexpr size_t kMaxReply = 512;

struct Probe {
  const PodPlan* from;
  const PodPlan* to;
  std::optional<IpAddress> ip;
  uint16_t port = 0;
  int fd = -1;
  enum class State { kConnecting, kAwaitingReply, kDone } state = State::kConnecting;
  Clock::time_point next_send;
  std::string reply;
  ProbeOutcome outcome = ProbeOutcome::kTimedOut;
  std::string detail;

  void Finish(ProbeOutcome result, std::string text = "") {
    outcome = result;
    detail = std::move(text);
    state = State::kDone;
    if (fd >= 0) close(fd);
    fd = -1;
  }
};

ProbeOutcome OutcomeOfErrno(int error) {
  switch (error) {
    case ECONNREFUSED:
      return ProbeOutcome::kRefused;
    case EHOSTUNREACH:
    case ENETUNREACH:
      return ProbeOutcome::kUnreachable;
    case ETIMEDOUT:
      return ProbeOutcome::kTimedOut;
    default:
      return ProbeOutcome::kError;
  }
}

void FailWithErrno(Probe& probe, int error) {
  probe.Finish(OutcomeOfErrno(error), strerror(error));
}

socklen_t ToSockaddr(const IpAddress& ip, uint16_t port, sockaddr_storage* storage) {
  std::memset(storage, 0, sizeof(*storage));
  if (ip.is_v4()) {
    auto* address = reinterpret_cast<sockaddr_in*>(storage);
    address->sin_family = AF_INET;
    address->sin_port = htons(port);
    std::memcpy(&address->sin_addr, ip.bytes().data() + 12, 4);
    return sizeof(sockaddr_in);
  }
  auto* address = reinterpret_cast<sockaddr_in6*>(storage);
  address->sin6_family = AF_INET6;
  address->sin6_port = htons(port);
  std::memcpy(&address->sin6_addr, ip.bytes().data(), 16);
  return sizeof(sockaddr_in6);
}

void SendRequest(Probe& probe) {
  if (send(probe.fd, kRequest, sizeof(kRequest) - 1, MSG_NOSIGNAL) < 0 && errno != EAGAIN) {
    FailWithErrno(probe, errno);
    return;
  }
  probe.state = Probe::State::kAwaitingReply;
  probe.next_send = Clock::now() + kUdpResendInterval;
}

// Runs on a thread inside the source pod's namespace: the socket is created there, so the
// connection leaves from the pod, with the pod's address and routes.
void Open(Probe& probe, Protocol protocol) {
  sockaddr_storage address;
  socklen_t size = ToSockaddr(*probe.ip, probe.port, &address);
  int type = (protocol == Protocol::kTcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC;
  probe.fd = socket(address.ss_family, type, 0);
  if (probe.fd < 0) {
    FailWithErrno(probe, errno);
    return;
  }
  if (connect(probe.fd, reinterpret_cast<sockaddr*>(&address), size) != 0 && errno != EINPROGRESS) {
    FailWithErrno(probe, errno);
    return;
  }
  if (protocol == Protocol::kUdp) SendRequest(probe);
}

void Judge(Probe& probe) {
  std::string reply(absl::StripAsciiWhitespace(probe.reply));
  if (reply == probe.to->key) {
    probe.Finish(ProbeOutcome::kAnswered);
  } else {
    probe.Finish(ProbeOutcome::kWrongAnswer, absl::StrCat("answered \"", reply, "\""));
  }
}

void OnReadable(Probe& probe, Protocol protocol) {
  char buffer[kMaxReply];
  ssize_t n = recv(probe.fd, buffer, sizeof(buffer), 0);
  if (n < 0) {
    if (errno != EAGAIN && errno != EINTR) FailWithErrno(probe, errno);
    return;
  }
  probe.reply.append(buffer, static_cast<size_t>(n));
  bool complete = protocol == Protocol::kUdp || n == 0 ||
                  probe.reply.find('\n') != std::string::npos || probe.reply.size() >= kMaxReply;
  if (complete) Judge(probe);
}

void OnConnected(Probe& probe) {
  int error = 0;
  socklen_t size = sizeof(error);
  getsockopt(probe.fd, SOL_SOCKET, SO_ERROR, &error, &size);
  if (error != 0) {
    FailWithErrno(probe, error);
  } else {
    SendRequest(probe);
  }
}

// Runs a batch of probes until each has an outcome or the timeout passes.
absl::Status RunBatch(std::vector<Probe*>& batch, const ProbeOptions& options) {
  std::map<std::string, std::vector<Probe*>> by_source;
  for (Probe* probe : batch) by_source[probe->from->netns].push_back(probe);
  for (auto& [netns, probes] : by_source) {
    FW_RETURN_IF_ERROR(RunInNetns(netns, [&]() {
      for (Probe* probe : probes) Open(*probe, options.protocol);
      return absl::OkStatus();
    }));
  }
  auto deadline = Clock::now() + options.timeout;
  while (true) {
    std::vector<pollfd> fds;
    std::vector<Probe*> polled;
    auto now = Clock::now();
    for (Probe* probe : batch) {
      if (probe->state == Probe::State::kDone) continue;
      if (options.protocol == Protocol::kUdp && now >= probe->next_send) SendRequest(*probe);
      if (probe->state == Probe::State::kDone) continue;
      short events = probe->state == Probe::State::kConnecting ? POLLOUT : POLLIN;
      fds.push_back({probe->fd, events, 0});
      polled.push_back(probe);
    }
    if (fds.empty()) return absl::OkStatus();
    if (now >= deadline) break;
    auto wait = std::min<Clock::duration>(deadline - now, kUdpResendInterval);
    int wait_ms = static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(wait).count());
    if (poll(fds.data(), fds.size(), wait_ms) < 0 && errno != EINTR) {
      return absl::InternalError(absl::StrCat("poll: ", strerror(errno)));
    }
    for (size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      Probe& probe = *polled[i];
      if (probe.state == Probe::State::kConnecting) {
        OnConnected(probe);
      } else {
        OnReadable(probe, options.protocol);
      }
    }
  }
  for (Probe* probe : batch) {
    if (probe->state != Probe::State::kDone) probe->Finish(ProbeOutcome::kTimedOut);
  }
  return absl::OkStatus();
}

}  // namespace

std::string_view ProbeOutcomeName(ProbeOutcome outcome) {
  switch (outcome) {
    case ProbeOutcome::kAnswered:
      return "answered";
    case ProbeOutcome::kWrongAnswer:
      return "wrong answer";
    case ProbeOutcome::kRefused:
      return "refused";
    case ProbeOutcome::kUnreachable:
      return "unreachable";
    case ProbeOutcome::kTimedOut:
      return "timed out";
    case ProbeOutcome::kNoService:
      return "no service";
    case ProbeOutcome::kNoAddress:
      return "no address";
    case ProbeOutcome::kError:
      return "error";
  }
  return "?";
}

absl::StatusOr<std::vector<ProbeResult>> ProbeAllPairs(const TopologyPlan& plan,
                                                       const ProbeOptions& options) {
  if (options.protocol != Protocol::kTcp && options.protocol != Protocol::kUdp) {
    return absl::InvalidArgumentError(
        "only TCP and UDP can be probed: this kernel has no SCTP sockets");
  }
  std::vector<Probe> probes;
  for (const PodPlan& from : plan.pods) {
    for (const PodPlan& to : plan.pods) {
      Probe probe{&from, &to};
      if (options.via_service && &from != &to) {
        if (std::optional<ServiceAddress> service =
                FindServiceFor(plan, to.key, options.protocol, options.port)) {
          probe.ip = service->ip;
          probe.port = service->port;
        } else {
          probe.Finish(ProbeOutcome::kNoService);
        }
      } else {
        probe.ip = to.AddressFor(from);
        probe.port = options.port;
        if (!probe.ip) probe.Finish(ProbeOutcome::kNoAddress);
      }
      probes.push_back(std::move(probe));
    }
  }
  std::vector<Probe*> pending;
  for (Probe& probe : probes) {
    if (probe.state != Probe::State::kDone) pending.push_back(&probe);
  }
  for (size_t start = 0; start < pending.size(); start += kMaxProbesInFlight) {
    std::vector<Probe*> batch(
        pending.begin() + start,
        pending.begin() + std::min(pending.size(), start + kMaxProbesInFlight));
    absl::Status status = RunBatch(batch, options);
    if (!status.ok()) {
      for (Probe& probe : probes) {
        if (probe.fd >= 0) close(probe.fd);
      }
      return status;
    }
  }
  std::vector<ProbeResult> results;
  for (const Probe& probe : probes) {
    ProbeResult result;
    result.reachability = {probe.from->key, probe.to->key, options.port, options.protocol,
                           probe.outcome == ProbeOutcome::kAnswered};
    result.outcome = probe.outcome;
    if (probe.ip) {
      result.address = probe.ip->is_v4()
                           ? absl::StrCat(probe.ip->ToString(), ":", probe.port)
                           : absl::StrCat("[", probe.ip->ToString(), "]:", probe.port);
    }
    result.detail = probe.detail;
    results.push_back(std::move(result));
  }
  return results;
}

absl::StatusOr<ProbeResult> ProbePair(const TopologyPlan& plan, const std::string& from,
                                      const std::string& to, const ProbeOptions& options) {
  TopologyPlan ends = plan;
  std::erase_if(ends.pods, [&](const PodPlan& pod) { return pod.key != from && pod.key != to; });
  FW_ASSIGN_OR_RETURN(std::vector<ProbeResult> results, ProbeAllPairs(ends, options));
  for (ProbeResult& result : results) {
    if (result.reachability.from == from && result.reachability.to == to) {
      return std::move(result);
    }
  }
  return absl::NotFoundError(absl::StrCat("probe ", from, " -> ", to, ": no such pods"));
}

}  // namespace flatwall::lab
