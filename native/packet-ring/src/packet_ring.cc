// packet_ring: tandem's frame I/O on Linux AF_PACKET (docs/packet-io.md).
//
// One Ring is one packet socket bound to one device:
// - receive: a mmap'd ring (TPACKET_V2 frame slots or TPACKET_V3 blocks). When the socket is
//   readable the addon walks the frames the kernel has handed over, writes their (offset, caplen,
//   wirelen, vlan) into a descriptor table JavaScript already holds, and calls onBatch(n) once per batch
//   (V2: up to batchFrames consecutive slots; V3: one block). The frames stay in the ring, which
//   JavaScript sees as one Uint8Array; they go back to the kernel when onBatch returns. At most
//   maxBatchesPerWake batches per wake-up, so a saturated device cannot starve the event loop
//   (the poll is level-triggered: the rest is read on the next turn of the loop).
// - transmit: JavaScript copies frames into the current segment of a staging buffer and writes
//   (offset, len) pairs into that segment's part of txDesc; flush(n) hands the segment over and
//   returns the next one to fill. The segment leaves with sendmmsg (one system call per batch, not
//   per frame), by default from a sender thread of the addon's: on veth (and on any device whose
//   transmit runs the receiver's stack in the sender's context) the system call carries the
//   downstream work, which then runs beside the JavaScript thread instead of on it. flush waits
//   only when every segment is still being sent (backpressure, as a synchronous send would).
// - errors are events, never aborts: a socket error (ENETDOWN when the device goes down or is
//   deleted, ...) stops the poll and calls onError(code, message); a bad call from JavaScript
//   (closed handle, bad descriptor) throws a JavaScript error.
// - context-aware (N-API): each thread that loads it gets its own state; the poll handle lives on
//   the loop of the thread that opened the ring, and an environment cleanup hook closes rings a
//   worker thread left open when it exits.
// - the buffers belong to the addon: the ring's memory is unmapped only when JavaScript can no
//   longer reach its Uint8Array (the finalizer), so a view kept past close() stays valid.
#include <napi.h>
#include <uv.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

// Descriptor table: four uint32 per frame (offset in the ring, bytes captured, bytes on the wire,
// vlan). The kernel takes the outer VLAN tag out of every frame it receives (in the NIC with rx
// VLAN offload, in software otherwise) and puts it in the frame's header: vlan is 0 when there was
// none, else VLAN_PRESENT | the tag's TCI, | VLAN_STAG when its TPID was not 802.1Q (src/dataplane/vlan.ts).
constexpr uint32_t DESC_FIELDS = 4;
constexpr uint32_t VLAN_PRESENT = 0x10000;
constexpr uint32_t VLAN_STAG = 0x20000;

// The vlan descriptor field of a frame whose tpacket header says `status`, `tci` and `tpid`.
uint32_t VlanField(uint32_t status, uint16_t tci, uint16_t tpid) {
  if ((status & TP_STATUS_VLAN_VALID) == 0) return 0;
  uint32_t v = VLAN_PRESENT | tci;
  if ((status & TP_STATUS_VLAN_TPID_VALID) != 0 && tpid != ETH_P_8021Q) v |= VLAN_STAG;
  return v;
}
// Transmit descriptors: two uint32 per frame (offset in the staging buffer, length).
constexpr uint32_t TX_FIELDS = 2;
// Smallest Ethernet frame we hand to the device (header only); the largest a packet socket takes.
constexpr uint32_t MIN_FRAME = 14;
constexpr uint32_t MAX_FRAME = 65535;

struct Options {
  int version = TPACKET_V2;
  uint32_t blockSize = 1u << 18;  // bytes per ring block (a power-of-two number of pages)
  uint32_t blockCount = 32;
  uint32_t frameSize = 2048;      // V2 slot size: one 1500-byte frame with its header fits
  uint32_t blockTimeoutMs = 1;    // V3 only: a block not yet full is handed over after this
  uint32_t batchFrames = 256;     // V2: frames per onBatch call
  uint32_t maxBatchesPerWake = 8;
  uint32_t txBytes = 1u << 20;  // per transmit segment
  uint32_t txSlots = 1024;       // frames per transmit segment
  uint32_t txSegments = 4;       // segments JavaScript fills in turn while the sender sends the others
  bool txThread = true;          // send from a thread of the addon's (see the header)
  uint32_t txInlineMax = 0;      // with the thread: a batch this small, with the thread idle, is sent inline
  bool qdiscBypass = true;
  bool ignoreOutgoing = true;
  bool promiscuous = false;
  int fanoutGroup = -1;
  int fanoutMode = PACKET_FANOUT_HASH;
  std::vector<std::string> macs;  // extra unicast MACs the device must accept (6 bytes each)
};

std::string ErrName(int err) {
  const char* n = uv_err_name(-err);
  return n ? n : "EUNKNOWN";
}

Napi::Error SysError(Napi::Env env, const std::string& what, int err) {
  Napi::Error e = Napi::Error::New(env, what + ": " + strerror(err));
  e.Set("code", Napi::String::New(env, ErrName(err)));
  e.Set("errno", Napi::Number::New(env, err));
  return e;
}

class Ring : public Napi::ObjectWrap<Ring> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "Ring",
                       {InstanceMethod("flush", &Ring::Flush), InstanceMethod("stats", &Ring::Stats),
                        InstanceMethod("close", &Ring::Close), InstanceAccessor("closed", &Ring::Closed, nullptr)});
  }

  Ring(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Ring>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 4 || !info[0].IsString() || !info[1].IsObject() || !info[2].IsFunction() || !info[3].IsFunction()) {
      Napi::TypeError::New(env, "new Ring(device, options, onBatch, onError)").ThrowAsJavaScriptException();
      return;
    }
    device_ = info[0].As<Napi::String>().Utf8Value();
    if (!ReadOptions(env, info[1].As<Napi::Object>())) return;
    if (!Open(env)) return;
    onBatch_ = Napi::Persistent(info[2].As<Napi::Function>());
    onError_ = Napi::Persistent(info[3].As<Napi::Function>());
    async_ = new Napi::AsyncContext(env, "tandem:packet-ring", info.This().As<Napi::Object>());
    ExposeBuffers(env, info.This().As<Napi::Object>());
    StartSender();
    if (!StartPoll(env)) return;
    napi_add_env_cleanup_hook(env, &Ring::CleanupHook, this);
    hooked_ = true;
    Ref();  // an open ring stays alive while its poll can call into JavaScript
  }

  ~Ring() override { Shutdown(); }

 private:
  // ---- options -----------------------------------------------------------------------------
  static bool U32(Napi::Object o, const char* key, uint32_t* out, uint32_t lo, uint32_t hi) {
    Napi::Value v = o.Get(key);
    if (v.IsUndefined()) return true;
    if (!v.IsNumber()) return false;
    double d = v.As<Napi::Number>().DoubleValue();
    if (!(d >= lo && d <= hi) || d != static_cast<uint32_t>(d)) return false;
    *out = static_cast<uint32_t>(d);
    return true;
  }

  bool ReadOptions(Napi::Env env, Napi::Object o) {
    uint32_t version = 2, fanoutGroup = 0;
    bool ok = U32(o, "version", &version, 2, 3) && U32(o, "blockSize", &opt_.blockSize, 4096, 1u << 26) &&
              U32(o, "blockCount", &opt_.blockCount, 2, 4096) && U32(o, "frameSize", &opt_.frameSize, 256, 1u << 17) &&
              U32(o, "blockTimeoutMs", &opt_.blockTimeoutMs, 0, 1000) && U32(o, "batchFrames", &opt_.batchFrames, 1, 65536) &&
              U32(o, "maxBatchesPerWake", &opt_.maxBatchesPerWake, 1, 1024) && U32(o, "txBytes", &opt_.txBytes, 65536, 1u << 28) &&
              U32(o, "txSlots", &opt_.txSlots, 1, 65536) && U32(o, "txSegments", &opt_.txSegments, 1, 64) &&
              U32(o, "txInlineMax", &opt_.txInlineMax, 0, 65536) &&
              U32(o, "fanoutGroup", &fanoutGroup, 0, 65535);
    if (!ok) {
      Napi::RangeError::New(env, "packet ring: an option is out of range (see native/packet-ring/README.md)").ThrowAsJavaScriptException();
      return false;
    }
    opt_.version = version == 3 ? TPACKET_V3 : TPACKET_V2;
    if (o.Has("fanoutGroup")) opt_.fanoutGroup = static_cast<int>(fanoutGroup);
    Napi::Value mode = o.Get("fanoutMode");
    if (mode.IsString()) {
      std::string m = mode.As<Napi::String>().Utf8Value();
      if (m == "hash") opt_.fanoutMode = PACKET_FANOUT_HASH;
      else if (m == "lb") opt_.fanoutMode = PACKET_FANOUT_LB;
      else if (m == "cpu") opt_.fanoutMode = PACKET_FANOUT_CPU;
      else {
        Napi::RangeError::New(env, "packet ring: fanoutMode is hash, lb or cpu").ThrowAsJavaScriptException();
        return false;
      }
    }
    auto flag = [&](const char* key, bool* out) {
      Napi::Value v = o.Get(key);
      if (v.IsBoolean()) *out = v.As<Napi::Boolean>().Value();
    };
    flag("qdiscBypass", &opt_.qdiscBypass);
    flag("ignoreOutgoing", &opt_.ignoreOutgoing);
    flag("promiscuous", &opt_.promiscuous);
    flag("txThread", &opt_.txThread);
    Napi::Value macs = o.Get("macs");
    if (macs.IsArray()) {
      Napi::Array a = macs.As<Napi::Array>();
      for (uint32_t i = 0; i < a.Length(); i++) {
        Napi::Value m = a.Get(i);
        if (!m.IsTypedArray() || m.As<Napi::Uint8Array>().ByteLength() != 6) {
          Napi::TypeError::New(env, "packet ring: macs holds 6-byte Uint8Arrays").ThrowAsJavaScriptException();
          return false;
        }
        Napi::Uint8Array u = m.As<Napi::Uint8Array>();
        opt_.macs.emplace_back(reinterpret_cast<const char*>(u.Data()), 6);
      }
    }
    if ((opt_.blockSize & (opt_.blockSize - 1)) != 0 || opt_.blockSize % 4096 != 0 || opt_.blockSize % opt_.frameSize != 0 ||
        (opt_.frameSize & 15) != 0) {
      Napi::RangeError::New(env, "packet ring: blockSize is a power of two of at least one page, a multiple of frameSize (a multiple of 16)")
          .ThrowAsJavaScriptException();
      return false;
    }
    return true;
  }

  // ---- open ----------------------------------------------------------------------------------
  // A process killed by SIGKILL closes its descriptors in ascending order, and the close of a
  // packet socket with rings waits for RCU grace periods (packet_release and packet_set_ring call
  // synchronize_net). Numbered below the HA1 sessions, the rings would delay the FIN that tells
  // the peer of the crash. So the socket moves above the descriptors the rest of the process uses
  // (the HA1 sockets then close first: measured 77 us for all of them); if there is no room, it
  // stays where it is.
  static int MoveAboveOthers(int fd) {
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return fd;
    const rlim_t kBase = 4096, kRoom = 64;
    rlim_t base = rl.rlim_cur >= kBase + kRoom ? kBase : (rl.rlim_cur > 2 * kRoom ? rl.rlim_cur - kRoom : 0);
    if (base == 0) return fd;
    int high = fcntl(fd, F_DUPFD_CLOEXEC, static_cast<int>(base));
    if (high < 0) return fd;
    ::close(fd);
    return high;
  }

  bool Fail(Napi::Env env, const std::string& what) {
    int err = errno;
    Shutdown();
    SysError(env, what + " " + device_, err).ThrowAsJavaScriptException();
    return false;
  }

  bool Open(Napi::Env env) {
    ifindex_ = if_nametoindex(device_.c_str());
    if (ifindex_ == 0) return Fail(env, "no such device");
    // protocol 0 until bind: a packet socket created with ETH_P_ALL would receive from every
    // device until it is bound
    fd_ = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return Fail(env, "socket(AF_PACKET)");
    fd_ = MoveAboveOthers(fd_);
    int v = opt_.version;
    if (setsockopt(fd_, SOL_PACKET, PACKET_VERSION, &v, sizeof v) < 0) return Fail(env, "PACKET_VERSION");
    if (!SetupRing()) return Fail(env, "PACKET_RX_RING");
    // the ring's pages are kernel memory, never swapped: no MAP_LOCKED (and no RLIMIT_MEMLOCK) needed
    map_ = mmap(nullptr, mapLen_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd_, 0);
    if (map_ == MAP_FAILED) {
      map_ = nullptr;
      return Fail(env, "mmap of the receive ring");
    }
    int one = 1;
    // our own transmissions (and the kernel's) are not delivered back to us: no MAC filter needed
    if (opt_.ignoreOutgoing && setsockopt(fd_, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) < 0)
      return Fail(env, "PACKET_IGNORE_OUTGOING");
    // best effort: not every kernel has it, and sending through the qdisc works too
    if (opt_.qdiscBypass) setsockopt(fd_, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one);
    // a whole batch in flight; SO_SNDBUFFORCE needs CAP_NET_ADMIN, which the systemd unit does not
    // give: then SO_SNDBUF, capped by net.core.wmem_max
    int sndbuf = 8 << 20;
    if (setsockopt(fd_, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf) < 0)
      setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    sockaddr_ll sll{};
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(ETH_P_ALL);
    sll.sll_ifindex = static_cast<int>(ifindex_);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&sll), sizeof sll) < 0) return Fail(env, "bind");
    for (const std::string& mac : opt_.macs) {
      packet_mreq mr{};
      mr.mr_ifindex = static_cast<int>(ifindex_);
      mr.mr_type = PACKET_MR_UNICAST;  // the device accepts this MAC too (promiscuous only if it has no unicast filter)
      mr.mr_alen = 6;
      memcpy(mr.mr_address, mac.data(), 6);
      if (setsockopt(fd_, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr) < 0) return Fail(env, "PACKET_ADD_MEMBERSHIP");
    }
    if (opt_.promiscuous) {
      packet_mreq mr{};
      mr.mr_ifindex = static_cast<int>(ifindex_);
      mr.mr_type = PACKET_MR_PROMISC;
      if (setsockopt(fd_, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr) < 0) return Fail(env, "PACKET_MR_PROMISC");
    }
    if (opt_.fanoutGroup >= 0) {
      int arg = opt_.fanoutGroup | (opt_.fanoutMode << 16);
      if (setsockopt(fd_, SOL_PACKET, PACKET_FANOUT, &arg, sizeof arg) < 0) return Fail(env, "PACKET_FANOUT");
    }
    // a device that was down when we bound: the kernel says so as a socket error; report it
    // through the poll like any later one
    return true;
  }

  bool SetupRing() {
    frameCount_ = opt_.blockSize / opt_.frameSize * opt_.blockCount;
    mapLen_ = static_cast<size_t>(opt_.blockSize) * opt_.blockCount;
    if (opt_.version == TPACKET_V3) {
      tpacket_req3 req{};
      req.tp_block_size = opt_.blockSize;
      req.tp_block_nr = opt_.blockCount;
      req.tp_frame_size = opt_.frameSize;
      req.tp_frame_nr = frameCount_;
      req.tp_retire_blk_tov = opt_.blockTimeoutMs;
      // the most frames one block can hold: each takes at least an aligned header and 14 bytes
      descCap_ = opt_.blockSize / TPACKET_ALIGN(TPACKET3_HDRLEN + MIN_FRAME) + 1;
      return setsockopt(fd_, SOL_PACKET, PACKET_RX_RING, &req, sizeof req) == 0;
    }
    tpacket_req req{};
    req.tp_block_size = opt_.blockSize;
    req.tp_block_nr = opt_.blockCount;
    req.tp_frame_size = opt_.frameSize;
    req.tp_frame_nr = frameCount_;
    descCap_ = opt_.batchFrames < frameCount_ ? opt_.batchFrames : frameCount_;
    return setsockopt(fd_, SOL_PACKET, PACKET_RX_RING, &req, sizeof req) == 0;
  }

  static void Unmap(Napi::Env, void* data, size_t* len) {
    munmap(data, *len);
    delete len;
  }

  void ExposeBuffers(Napi::Env env, Napi::Object self) {
    Napi::ArrayBuffer ring = Napi::ArrayBuffer::New(env, map_, mapLen_, &Ring::Unmap, new size_t(mapLen_));
    mapOwnedByJs_ = true;
    Napi::ArrayBuffer desc = Napi::ArrayBuffer::New(env, descCap_ * DESC_FIELDS * sizeof(uint32_t));
    size_t txTotal = static_cast<size_t>(opt_.txBytes) * opt_.txSegments;
    size_t txDescTotal = static_cast<size_t>(opt_.txSlots) * TX_FIELDS * opt_.txSegments;
    Napi::ArrayBuffer tx = Napi::ArrayBuffer::New(env, txTotal);
    Napi::ArrayBuffer txDesc = Napi::ArrayBuffer::New(env, txDescTotal * sizeof(uint32_t));
    desc_ = static_cast<uint32_t*>(desc.Data());
    tx_ = static_cast<uint8_t*>(tx.Data());
    txDesc_ = static_cast<uint32_t*>(txDesc.Data());
    // held here too: JavaScript may drop or replace the properties, the pointers stay valid
    descRef_ = Napi::Persistent(desc);
    txRef_ = Napi::Persistent(tx);
    txDescRef_ = Napi::Persistent(txDesc);
    self.Set("ring", Napi::Uint8Array::New(env, mapLen_, ring, 0));
    self.Set("desc", Napi::Uint32Array::New(env, descCap_ * DESC_FIELDS, desc, 0));
    self.Set("tx", Napi::Uint8Array::New(env, txTotal, tx, 0));
    self.Set("txDesc", Napi::Uint32Array::New(env, txDescTotal, txDesc, 0));
    self.Set("txSegments", Napi::Number::New(env, opt_.txSegments));
    self.Set("txSegmentBytes", Napi::Number::New(env, opt_.txBytes));
    self.Set("ifindex", Napi::Number::New(env, ifindex_));
    self.Set("version", Napi::Number::New(env, opt_.version == TPACKET_V3 ? 3 : 2));
    self.Set("descFields", Napi::Number::New(env, DESC_FIELDS));
    self.Set("txSlots", Napi::Number::New(env, opt_.txSlots));
  }

  bool StartPoll(Napi::Env env) {
    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
      Shutdown();
      Napi::Error::New(env, "packet ring: no event loop in this thread").ThrowAsJavaScriptException();
      return false;
    }
    poll_ = new uv_poll_t;
    poll_->data = this;
    int r = uv_poll_init(loop, poll_, fd_);
    if (r == 0) r = uv_poll_start(poll_, UV_READABLE, &Ring::OnReadable);
    if (r != 0) {
      delete poll_;
      poll_ = nullptr;
      Shutdown();
      SysError(env, "uv_poll on " + device_, -r).ThrowAsJavaScriptException();
      return false;
    }
    return true;
  }

  // ---- receive -------------------------------------------------------------------------------
  static void OnReadable(uv_poll_t* handle, int status, int events) {
    Ring* self = static_cast<Ring*>(handle->data);
    if (self == nullptr || self->fd_ < 0) return;
    Napi::Env env = self->Env();
    Napi::HandleScope scope(env);
    // one callback scope per wake-up, not per batch: async hooks, then the microtasks and
    // nextTicks the callbacks queued run once, when it closes
    Napi::CallbackScope callbackScope(env, *self->async_);
    if (status < 0) {
      // libuv stopped the handle (POLLERR): the kernel's reason is the socket's pending error
      int err = 0;
      socklen_t len = sizeof err;
      if (getsockopt(self->fd_, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err == 0) err = -status;
      self->ReportError(env, err);
      return;
    }
    if (self->opt_.version == TPACKET_V3) self->ReadBlocks(env);
    else self->ReadFrames(env);
  }

  void ReportError(Napi::Env env, int err) {
    errors_++;
    std::string msg = std::string(strerror(err)) + " on " + device_;
    Call(env, onError_, {Napi::String::New(env, ErrName(err)), Napi::String::New(env, msg)});
  }

  // Calls into JavaScript from the loop (inside OnReadable's callback scope); an exception goes to
  // process 'uncaughtException' as any callback's would. Returns false when it threw.
  bool Call(Napi::Env env, const Napi::FunctionReference& fn, const std::initializer_list<napi_value>& args) {
    if (fn.IsEmpty()) return true;
    fn.Call(Value(), args);
    if (env.IsExceptionPending()) {
      Napi::Error e = env.GetAndClearPendingException();
      napi_fatal_exception(env, e.Value());
      return false;
    }
    return true;
  }

  void ReadFrames(Napi::Env env) {
    uint8_t* base = static_cast<uint8_t*>(map_);
    for (uint32_t batch = 0; batch < opt_.maxBatchesPerWake && fd_ >= 0; batch++) {
      uint32_t n = 0;
      uint32_t slot = next_;
      while (n < descCap_) {
        auto* h = reinterpret_cast<tpacket2_hdr*>(base + static_cast<size_t>(slot) * opt_.frameSize);
        if ((__atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER) == 0) break;
        desc_[n * DESC_FIELDS] = static_cast<uint32_t>(slot * opt_.frameSize + h->tp_mac);
        desc_[n * DESC_FIELDS + 1] = h->tp_snaplen;
        desc_[n * DESC_FIELDS + 2] = h->tp_len;
        desc_[n * DESC_FIELDS + 3] = VlanField(h->tp_status, h->tp_vlan_tci, h->tp_vlan_tpid);
        n++;
        slot = slot + 1 == frameCount_ ? 0 : slot + 1;
      }
      if (n == 0) return;
      frames_ += n;
      batches_++;
      bool ok = Call(env, onBatch_, {Napi::Number::New(env, n)});
      // the slots go back to the kernel whatever JavaScript did with them
      for (uint32_t i = 0; i < n; i++) {
        auto* h = reinterpret_cast<tpacket2_hdr*>(base + static_cast<size_t>(next_) * opt_.frameSize);
        __atomic_store_n(&h->tp_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
        next_ = next_ + 1 == frameCount_ ? 0 : next_ + 1;
      }
      if (!ok) return;
    }
  }

  void ReadBlocks(Napi::Env env) {
    uint8_t* base = static_cast<uint8_t*>(map_);
    for (uint32_t batch = 0; batch < opt_.maxBatchesPerWake && fd_ >= 0; batch++) {
      uint8_t* block = base + static_cast<size_t>(next_) * opt_.blockSize;
      auto* bd = reinterpret_cast<tpacket_block_desc*>(block);
      if ((__atomic_load_n(&bd->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER) == 0) return;
      uint32_t count = bd->hdr.bh1.num_pkts;
      uint32_t off = bd->hdr.bh1.offset_to_first_pkt;
      uint32_t n = 0;
      for (uint32_t i = 0; i < count && n < descCap_ && off + sizeof(tpacket3_hdr) <= opt_.blockSize; i++) {
        auto* h = reinterpret_cast<tpacket3_hdr*>(block + off);
        uint32_t frameOff = off + h->tp_mac;
        if (frameOff + h->tp_snaplen > opt_.blockSize) break;  // never read past the block, whatever it says
        desc_[n * DESC_FIELDS] = static_cast<uint32_t>(next_ * opt_.blockSize + frameOff);
        desc_[n * DESC_FIELDS + 1] = h->tp_snaplen;
        desc_[n * DESC_FIELDS + 2] = h->tp_len;
        desc_[n * DESC_FIELDS + 3] = VlanField(h->tp_status, h->hv1.tp_vlan_tci, h->hv1.tp_vlan_tpid);
        n++;
        if (h->tp_next_offset == 0) break;
        off += h->tp_next_offset;
      }
      frames_ += n;
      batches_++;
      bool ok = n == 0 || Call(env, onBatch_, {Napi::Number::New(env, n)});
      __atomic_store_n(&bd->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
      next_ = next_ + 1 == opt_.blockCount ? 0 : next_ + 1;
      if (!ok) return;
    }
  }

  // ---- transmit ------------------------------------------------------------------------------
  // flush(n): sends the current segment's txDesc[0..n) (offsets are into the whole `tx`, inside
  // the segment) and returns the index of the segment to fill next. A frame the kernel refuses
  // skips only itself; refusals are counted in stats() (txRefused, lastTxError).
  Napi::Value Flush(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (fd_ < 0) {
      Napi::Error::New(env, "packet ring: flush on a closed ring").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (info.Length() < 1 || !info[0].IsNumber()) {
      Napi::TypeError::New(env, "flush(count)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    double c = info[0].As<Napi::Number>().DoubleValue();
    if (!(c >= 0 && c <= opt_.txSlots) || c != static_cast<uint32_t>(c)) {
      Napi::RangeError::New(env, "flush: count is 0.." + std::to_string(opt_.txSlots)).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    uint32_t count = static_cast<uint32_t>(c);
    if (count == 0) return Napi::Number::New(env, seg_);
    if (!opt_.txThread) {
      SendSegment(seg_, count);
      return Napi::Number::New(env, seg_);
    }
    // flush(n, true): inline after what was handed over is out (the caller re-judged these frames
    // just now and wants them to leave under that judgement, not later)
    bool forceInline = info.Length() > 1 && info[1].ToBoolean().Value();
    if (forceInline) {
      std::unique_lock<std::mutex> lock(txMu_);
      txFree_.wait(lock, [&] { return txInFlight_ == 0; });
      lock.unlock();
      SendSegment(seg_, count);
      txInline_++;
      return Napi::Number::New(env, seg_);
    }
    if (count <= opt_.txInlineMax) {
      // a small batch with nothing handed over still in flight goes at once from this thread: no
      // wake-up of the sender on the light-load path (a takeover's first frames); order is kept,
      // since only this thread hands segments over and none is pending
      std::unique_lock<std::mutex> lock(txMu_);
      if (txInFlight_ == 0) {
        lock.unlock();
        SendSegment(seg_, count);
        txInline_++;
        return Napi::Number::New(env, seg_);
      }
    }
    uint32_t next = seg_ + 1 == opt_.txSegments ? 0 : seg_ + 1;
    {
      std::unique_lock<std::mutex> lock(txMu_);
      segCount_[seg_] = count;
      segBusy_[seg_] = 1;
      txInFlight_++;
      txQueue_.push_back(seg_);
      txWork_.notify_one();
      // backpressure: the sender is a whole ring of segments behind
      if (segBusy_[next]) txWaits_++;
      txFree_.wait(lock, [&] { return !segBusy_[next]; });
    }
    seg_ = next;
    return Napi::Number::New(env, seg_);
  }

  void StartSender() {
    segBusy_.assign(opt_.txSegments, 0);
    segCount_.assign(opt_.txSegments, 0);
    msgs_.resize(static_cast<size_t>(opt_.txSlots) * opt_.txSegments);
    iovs_.resize(static_cast<size_t>(opt_.txSlots) * opt_.txSegments);
    if (!opt_.txThread) return;
    sender_ = std::thread([this] { SenderLoop(); });
  }

  void SenderLoop() {
    for (;;) {
      uint32_t seg;
      {
        std::unique_lock<std::mutex> lock(txMu_);
        txWork_.wait(lock, [&] { return txStop_ || !txQueue_.empty(); });
        if (txQueue_.empty()) return;  // stopping, and everything handed over is sent
        seg = txQueue_.front();
        txQueue_.erase(txQueue_.begin());
      }
      SendSegment(seg, segCount_[seg]);
      {
        std::lock_guard<std::mutex> lock(txMu_);
        segBusy_[seg] = 0;
        txInFlight_--;
      }
      txFree_.notify_all();
    }
  }

  void StopSender() {
    if (!sender_.joinable()) return;
    {
      std::lock_guard<std::mutex> lock(txMu_);
      txStop_ = true;
    }
    txWork_.notify_all();
    sender_.join();
  }

  // Runs on the sender thread (or on the JavaScript thread without one). Reads only the segment
  // handed over, which JavaScript does not touch until it is free again.
  void SendSegment(uint32_t seg, uint32_t count) {
    const uint32_t* desc = txDesc_ + static_cast<size_t>(seg) * opt_.txSlots * TX_FIELDS;
    mmsghdr* msgs = msgs_.data() + static_cast<size_t>(seg) * opt_.txSlots;
    iovec* iovs = iovs_.data() + static_cast<size_t>(seg) * opt_.txSlots;
    const uint64_t lo = static_cast<uint64_t>(seg) * opt_.txBytes, hi = lo + opt_.txBytes;
    uint32_t m = 0, refused = 0;
    for (uint32_t i = 0; i < count; i++) {
      uint64_t off = desc[i * TX_FIELDS], len = desc[i * TX_FIELDS + 1];
      if (len < MIN_FRAME || len > MAX_FRAME || off < lo || off + len > hi) {
        refused++;  // a bad descriptor skips only itself
        txBad_++;
        continue;
      }
      iovs[m].iov_base = tx_ + off;
      iovs[m].iov_len = len;
      msgs[m].msg_hdr = msghdr{};
      msgs[m].msg_hdr.msg_iov = &iovs[m];
      msgs[m].msg_hdr.msg_iovlen = 1;
      m++;
    }
    uint32_t done = 0, failed = 0;
    while (done < m) {
      int r = sendmmsg(fd_, &msgs[done], m - done, MSG_DONTWAIT);
      if (r < 0) {
        if (errno == EINTR) continue;
        lastTxError_ = errno;
        failed++;  // the frame at `done` was refused: skip it, send the rest
        done++;
        continue;
      }
      done += static_cast<uint32_t>(r);
    }
    sent_ += m - failed;
    txRefused_ += refused + failed;
  }

  // ---- stats, close --------------------------------------------------------------------------
  void PollKernelStats() {
    if (fd_ < 0) return;
    tpacket_stats_v3 st{};
    socklen_t len = opt_.version == TPACKET_V3 ? sizeof(tpacket_stats_v3) : sizeof(tpacket_stats);
    // reading resets the kernel's counters: keep the sums here
    if (getsockopt(fd_, SOL_PACKET, PACKET_STATISTICS, &st, &len) == 0) {
      kernelPackets_ += st.tp_packets;
      kernelDrops_ += st.tp_drops;
      if (opt_.version == TPACKET_V3) freezes_ += st.tp_freeze_q_cnt;
    }
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    PollKernelStats();
    Napi::Object o = Napi::Object::New(env);
    o.Set("frames", Napi::Number::New(env, static_cast<double>(frames_)));
    o.Set("batches", Napi::Number::New(env, static_cast<double>(batches_)));
    o.Set("kernelPackets", Napi::Number::New(env, static_cast<double>(kernelPackets_)));
    o.Set("drops", Napi::Number::New(env, static_cast<double>(kernelDrops_)));
    o.Set("freezes", Napi::Number::New(env, static_cast<double>(freezes_)));
    o.Set("sent", Napi::Number::New(env, static_cast<double>(sent_.load())));
    o.Set("txRefused", Napi::Number::New(env, static_cast<double>(txRefused_.load())));
    o.Set("txBad", Napi::Number::New(env, static_cast<double>(txBad_.load())));
    o.Set("txWaits", Napi::Number::New(env, static_cast<double>(txWaits_)));
    o.Set("txInline", Napi::Number::New(env, static_cast<double>(txInline_)));
    o.Set("errors", Napi::Number::New(env, static_cast<double>(errors_)));
    int lastTxError = lastTxError_.load();
    o.Set("lastTxError", lastTxError ? Napi::Value(Napi::String::New(env, ErrName(lastTxError))) : env.Null());
    return o;
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Shutdown();
    return info.Env().Undefined();
  }

  Napi::Value Closed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), fd_ < 0); }

  static void CleanupHook(void* arg) {
    Ring* self = static_cast<Ring*>(arg);
    self->hooked_ = false;  // the environment is going away: the hook is being run, not to be removed
    self->Shutdown();
  }

  // Idempotent. Stops the poll, closes the socket; the ring memory stays mapped until its
  // Uint8Array is collected (or is unmapped here if JavaScript never got it).
  void Shutdown() {
    StopSender();  // what was handed over is sent before the socket closes
    if (poll_ != nullptr) {
      poll_->data = nullptr;
      uv_poll_stop(poll_);
      uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
      poll_ = nullptr;
    }
    if (fd_ >= 0) {
      PollKernelStats();
      ::close(fd_);
      fd_ = -1;
    }
    if (map_ != nullptr && !mapOwnedByJs_) munmap(map_, mapLen_);
    map_ = nullptr;
    if (hooked_) {
      napi_remove_env_cleanup_hook(Env(), &Ring::CleanupHook, this);
      hooked_ = false;
    }
    if (async_ != nullptr) {
      delete async_;
      async_ = nullptr;
    }
    if (refHeld_) {
      refHeld_ = false;
      Unref();
    }
  }

  void Ref() {
    Napi::ObjectWrap<Ring>::Ref();
    refHeld_ = true;
  }

  std::string device_;
  Options opt_;
  unsigned ifindex_ = 0;
  int fd_ = -1;
  void* map_ = nullptr;
  size_t mapLen_ = 0;
  bool mapOwnedByJs_ = false;
  uint32_t frameCount_ = 0;
  uint32_t descCap_ = 0;
  uint32_t next_ = 0;  // V2: next slot to read; V3: next block
  uv_poll_t* poll_ = nullptr;
  bool hooked_ = false;
  bool refHeld_ = false;
  Napi::AsyncContext* async_ = nullptr;
  Napi::FunctionReference onBatch_, onError_;
  Napi::Reference<Napi::ArrayBuffer> descRef_, txRef_, txDescRef_;
  uint32_t* desc_ = nullptr;
  uint8_t* tx_ = nullptr;
  uint32_t* txDesc_ = nullptr;
  std::vector<mmsghdr> msgs_;  // txSlots per segment
  std::vector<iovec> iovs_;
  uint32_t seg_ = 0;  // the segment JavaScript fills
  std::thread sender_;
  std::mutex txMu_;
  std::condition_variable txWork_, txFree_;
  std::vector<uint32_t> txQueue_;  // segments handed over, in order
  std::vector<uint8_t> segBusy_;
  std::vector<uint32_t> segCount_;
  bool txStop_ = false;
  uint32_t txInFlight_ = 0;  // segments handed to the sender and not sent yet (under txMu_)
  uint64_t txWaits_ = 0, txInline_ = 0;
  uint64_t frames_ = 0, batches_ = 0, kernelPackets_ = 0, kernelDrops_ = 0, freezes_ = 0;
  uint64_t errors_ = 0;
  std::atomic<uint64_t> sent_{0}, txRefused_{0}, txBad_{0};  // written by the sender thread
  std::atomic<int> lastTxError_{0};
};

Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  exports.Set("Ring", Ring::Init(env));
  return exports;
}

}  // namespace

NODE_API_MODULE(packet_ring, InitModule)
