// The Balancer contract (shared/core/balancer.hpp), one set of cases run against every
// implementation: HaproxyBalancer on a real HAProxy on loopback, with real servers behind it;
// HcloudBalancer against the Hetzner Cloud contract fake (phoenix-hcloud-fake, over real HTTP);
// and the in-memory FakeBalancer the unit tests use. A new balancer gets every case by adding
// its rig to CONFORMANCE_BALANCER_RIGS.
//
// Every rig starts with one member in the balancer that Phoenix did not add (HAProxy: a static
// server in haproxy.cfg; Hetzner: a server target added through the API by hand); the cases
// that change membership end by checking it was left alone.

#include <catch2/catch.hpp>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "conformance/conformance.hpp"
#include "fakes/fake_balancer.hpp"
#include "fakes/recording_reporter.hpp"
#include "shared/balancers/haproxy_balancer.hpp"
#include "shared/balancers/haproxy_channel.hpp"
#include "shared/hcloud/api.hpp"
#include "shared/hcloud/balancer.hpp"
#include "shared/hcloud/provider.hpp"
#include "shared/http/curl_http_client.hpp"
#include "shared/util/clock.hpp"
#include "shared/util/json.hpp"
#include "shared/util/process.hpp"
#include "support/harness.hpp"
#include "support/unwritable.hpp"

using namespace phoenix;
using phoenix::conformance::eventually;

namespace balancer_conformance {

// What a case needs from the world around a balancer.
class BalancerRig {
 public:
  virtual ~BalancerRig() = default;
  virtual Balancer& balancer() = 0;
  // `count` servers of pool `label`, running where the balancer reaches them; their health
  // check passes, or fails when `healthy` is false.
  virtual std::vector<MemberSpec> servers(const std::string& label, int count, bool healthy) = 0;
  // A member of pool `label` the balancer must refuse to add.
  virtual MemberSpec unacceptable(const std::string& label) = 0;
  // The member that was in the balancer before the case started, put there by hand.
  virtual std::string foreign_name() const = 0;
  virtual std::string foreign_address() const = 0;
  // One response through the balancer's own listener, or nothing when it has no data path.
  virtual std::optional<std::string> fetch() = 0;
  // Restarts the balancer from what it keeps durably; false when it has no such notion.
  virtual bool restart() = 0;
  // Reloads the balancer (a new instance takes over); false when it has no such notion.
  virtual bool reload() = 0;
  // Opens connections that stay open for a while through the balancer, so that `member` (one
  // of two admitted members) has some; release_connections() waits until they ended.
  virtual void hold_connections(const std::string& member) = 0;
  virtual void release_connections() = 0;
  // From now on the balancer cannot be reached.
  virtual void cut_off() = 0;
  // From now on the balancer's durable copy of its membership cannot be written (HAProxy: the
  // directory of config_file refuses new files); false where it keeps no such copy, or where this
  // file system cannot refuse writes.
  virtual bool make_membership_unwritable() = 0;
  // The same kind of balancer, configured with a backend or load balancer that does not
  // exist; nullptr when it has no configuration to get wrong.
  virtual std::unique_ptr<Balancer> misconfigured() = 0;
};

// Processes a rig started, stopped by pid when it goes (also when its constructor fails).
class OwnedProcesses {
 public:
  OwnedProcesses() = default;
  OwnedProcesses(const OwnedProcesses&) = delete;
  OwnedProcesses& operator=(const OwnedProcesses&) = delete;
  ~OwnedProcesses() {
    for (const auto& process : processes_) util::stop_process(process, std::chrono::seconds(2));
  }
  void add(const util::ProcessIdentity& process) { processes_.push_back(process); }

 private:
  std::vector<util::ProcessIdentity> processes_;
};

// Slow requests through a balancer's listener, on threads of their own.
class SlowRequests {
 public:
  ~SlowRequests() { finish(); }
  void start(const std::string& url, int count) {
    for (int i = 0; i < count; ++i) threads_.emplace_back([url] { testing::http_get(url); });
  }
  void finish() {
    for (auto& thread : threads_) thread.join();
    threads_.clear();
  }

 private:
  std::vector<std::thread> threads_;
};

// ---------------------------------------------------------------------------------------------
// HAProxy: a real one on loopback (tests/support), real phoenix-sample-app servers behind it.

class HaproxyRig final : public BalancerRig {
 public:
  HaproxyRig()
      : legacy_port_(testing::free_port()),
        haproxy_(dir_.path(), options(legacy_port_)),
        // Restarts and reloads here wait until HAProxy answers, so a short connect window
        // only makes an unreachable HAProxy quick to report.
        channel_(haproxy_.socket().string(), std::chrono::seconds(5), std::chrono::milliseconds(300)),
        balancer_(channel_, haproxy::HaproxySettings{.backend = "web",
                                                     .check_interval_ms = 100,
                                                     .rise = 1,
                                                     .fall = 2,
                                                     .config_file = haproxy_.config_file()}) {
    start_server(kHost, legacy_port_, "legacy", true);
  }

  Balancer& balancer() override { return balancer_; }
  std::vector<MemberSpec> servers(const std::string& label, int count, bool healthy) override {
    std::vector<MemberSpec> specs;
    for (int i = 1; i <= count; ++i) {
      const int port = testing::free_port();
      start_server(kHost, port, label, healthy);
      specs.push_back({member_name(label, std::to_string(i)), kHost, port, std::to_string(i)});
    }
    return specs;
  }
  // HAProxy refuses a checked server without a port.
  MemberSpec unacceptable(const std::string& label) override {
    return {member_name(label, "noport"), kHost, 0, "noport"};
  }
  std::string foreign_name() const override { return "legacy"; }
  std::string foreign_address() const override { return std::string(kHost) + ":" + std::to_string(legacy_port_); }
  std::optional<std::string> fetch() override { return testing::http_get(haproxy_.url()).second; }
  bool restart() override {
    haproxy_.restart();
    return true;
  }
  bool reload() override {
    haproxy_.reload();
    return true;
  }
  // Round robin over two admitted members: four requests give each two.
  void hold_connections(const std::string&) override { slow_.start(haproxy_.url("/slow?ms=1500"), 4); }
  void release_connections() override { slow_.finish(); }
  void cut_off() override { haproxy_.stop(); }
  bool make_membership_unwritable() override {
    unwritable_.emplace(haproxy_.config_file().parent_path());
    return unwritable_->active();
  }
  std::unique_ptr<Balancer> misconfigured() override {
    return std::make_unique<haproxy::HaproxyBalancer>(channel_, haproxy::HaproxySettings{.backend = "nope"});
  }

 private:
  static constexpr const char* kHost = "127.0.0.1";

  static testing::HaproxyOptions options(int legacy_port) {
    testing::HaproxyOptions options;
    options.backend_lines = {"server legacy 127.0.0.1:" + std::to_string(legacy_port) +
                             " check inter 100ms rise 1 fall 2"};
    return options;
  }

  void start_server(const std::string& host, int port, const std::string& release, bool healthy) {
    std::vector<std::string> argv = {(testing::binary_directory() / "phoenix-sample-app").string(), "--listen",
                                     host + ":" + std::to_string(port), "--release", release};
    if (!healthy) argv.emplace_back("--unhealthy");
    auto started = testing::spawn_owned({argv, dir_.path(), dir_.path() / ("server-" + std::to_string(port) + ".log")});
    if (!started) FAIL("cannot start phoenix-sample-app: " << started.error().message);
    processes_.add(*started);
    const std::string url = "http://" + host + ":" + std::to_string(port) + "/health";
    if (!eventually([&] { return testing::http_get(url).first != 0; }, std::chrono::seconds(5))) {
      FAIL("phoenix-sample-app did not listen on " << host << ":" << port);
    }
  }

  testing::TempDir dir_;
  OwnedProcesses processes_;
  int legacy_port_;
  testing::Haproxy haproxy_;
  haproxy::SocketRuntimeChannel channel_;
  haproxy::HaproxyBalancer balancer_;
  SlowRequests slow_;
  std::optional<testing::Unwritable> unwritable_;  // released first, before the directory goes
};

// ---------------------------------------------------------------------------------------------
// Hetzner: HcloudBalancer over a real CurlHttpClient and hcloud::Api, against the contract fake.
// Servers are made by HcloudProvider, as a deploy makes them.

class HcloudRig final : public BalancerRig {
 public:
  HcloudRig()
      : fake_(dir_.path(), testing::HcloudFake::Options{.action_ms = 10}),
        listener_(fake_.create_load_balancer("web-lb")),
        api_(http_, clock_, reporter_, fake_.endpoint(), fake_.token(), policy()),
        balancer_(api_, hcloud::BalancerSettings{.service = "web", .load_balancer = "web-lb"}),
        healthy_(api_, settings(""), reporter_),
        unhealthy_(api_, settings("#cloud-config\n# phoenix-fake: unhealthy\n"), reporter_) {
    add_foreign_target();
  }

  Balancer& balancer() override { return balancer_; }
  std::vector<MemberSpec> servers(const std::string& label, int count, bool healthy) override {
    PoolSpec spec;
    spec.meta.label = label;
    spec.meta.created_at = std::chrono::system_clock::now();
    spec.size = count;
    auto pool = (healthy ? healthy_ : unhealthy_).create_pool(spec);
    if (!pool) FAIL("cannot create servers in the hcloud fake: " << pool.error().message);
    std::vector<MemberSpec> specs;
    for (const auto& server : pool->servers) {
      specs.push_back({member_name(label, server.id), server.host, server.port, server.id});
    }
    return specs;
  }
  // Hetzner refuses a target for a server that does not exist.
  MemberSpec unacceptable(const std::string& label) override {
    return {member_name(label, "987654321"), "127.200.250.250", fake_.app_port(), "987654321"};
  }
  std::string foreign_name() const override { return foreign_name_; }
  std::string foreign_address() const override { return foreign_address_; }
  std::optional<std::string> fetch() override { return testing::http_get(listener_).second; }
  bool restart() override { return false; }
  bool reload() override { return false; }
  // Round robin over the healthy targets: with two, four requests give each two.
  void hold_connections(const std::string&) override { slow_.start(listener_ + "slow?ms=1500", 4); }
  void release_connections() override { slow_.finish(); }
  void cut_off() override { fake_.inject(R"({"status": 503, "code": "unavailable", "count": 100000})"); }
  // The load balancer keeps its targets itself: there is no copy to write.
  bool make_membership_unwritable() override { return false; }
  std::unique_ptr<Balancer> misconfigured() override {
    return std::make_unique<hcloud::HcloudBalancer>(
        api_, hcloud::BalancerSettings{.service = "web", .load_balancer = "nope"});
  }

 private:
  // Retries end after 2 s, so that an unreachable API is quick to report; the fake answers in
  // milliseconds otherwise.
  static hcloud::RetryPolicy policy() {
    hcloud::RetryPolicy policy;
    policy.deadline = std::chrono::seconds(2);
    policy.request_timeout = std::chrono::seconds(10);
    return policy;
  }
  hcloud::ProviderSettings settings(const std::string& user_data) const {
    return {.service = "web",
            .server_type = "cx22",
            .image = "ubuntu-24.04",
            .location = "nbg1",
            .user_data_template = user_data,
            .port = fake_.app_port(),
            .create_timeout = std::chrono::seconds(20)};
  }

  // A server without Phoenix's labels, made a target of the load balancer by hand.
  void add_foreign_target() {
    auto created = api_.call({"POST", "/servers", R"({"name":"legacy","server_type":"cx22","image":"ubuntu-24.04"})"});
    if (!created) FAIL("cannot create the foreign server: " << created.error().message);
    const cJSON* server = cJSON_GetObjectItemCaseSensitive(created->get(), "server");
    const auto id = static_cast<long long>(util::json_number(server, "id").value_or(0));
    REQUIRE_OK(api_.wait_for_actions(hcloud::Api::action_ids(created->get()), std::chrono::seconds(20), "create"));
    auto load_balancers = api_.list("/load_balancers?name=web-lb", "load_balancers");
    if (!load_balancers || load_balancers->empty()) FAIL("the hcloud fake has no load balancer web-lb");
    const auto lb = static_cast<long long>(util::json_number(load_balancers->front().get(), "id").value_or(0));
    auto added = api_.call({"POST", "/load_balancers/" + std::to_string(lb) + "/actions/add_target",
                            R"({"type":"server","server":{"id":)" + std::to_string(id) + "}}"});
    if (!added) FAIL("cannot add the foreign target: " << added.error().message);
    REQUIRE_OK(api_.wait_for_actions(hcloud::Api::action_ids(added->get()), std::chrono::seconds(20), "add"));
    foreign_name_ = "server-" + std::to_string(id);
    foreign_address_ = hcloud::server_address(server) + ":" + std::to_string(fake_.app_port());
  }

  testing::TempDir dir_;
  testing::HcloudFake fake_;
  std::string listener_;
  http::CurlHttpClient http_;
  util::SystemClock clock_;
  fakes::RecordingReporter reporter_;
  hcloud::Api api_;
  hcloud::HcloudBalancer balancer_;
  hcloud::HcloudProvider healthy_;
  hcloud::HcloudProvider unhealthy_;
  std::string foreign_name_;
  std::string foreign_address_;
  SlowRequests slow_;
};

// ---------------------------------------------------------------------------------------------
// FakeBalancer: health is simulated per read of members(), addresses are never contacted.

class FakeRig final : public BalancerRig {
 public:
  FakeRig() { fake_.put_live("legacy", "10.9.0.1:8080"); }

  Balancer& balancer() override { return fake_; }
  std::vector<MemberSpec> servers(const std::string& label, int count, bool healthy) override {
    ++pools_;
    std::vector<MemberSpec> specs;
    for (int i = 1; i <= count; ++i) {
      const std::string host = "10.9." + std::to_string(pools_) + "." + std::to_string(i);
      if (!healthy) fake_.unhealthy_addresses.insert(host + ":8080");
      specs.push_back({member_name(label, std::to_string(i)), host, 8080, std::to_string(i)});
    }
    return specs;
  }
  MemberSpec unacceptable(const std::string& label) override {
    return {member_name(label, "noport"), "10.9.255.1", 0, "noport"};
  }
  std::string foreign_name() const override { return "legacy"; }
  std::string foreign_address() const override { return "10.9.0.1:8080"; }
  std::optional<std::string> fetch() override { return std::nullopt; }
  bool restart() override { return false; }
  // What a reload looks like to FakeBalancer's users: a new instance id.
  bool reload() override {
    fake_.instance_id = std::to_string(std::stoi(fake_.instance_id) + 1);
    return true;
  }
  // FakeBalancer counts connections it is told about.
  void hold_connections(const std::string& member) override {
    fake_.state[member].sessions = 2;
    fake_.stuck_connections[member] = 2;
  }
  void release_connections() override { fake_.stuck_connections.clear(); }
  void cut_off() override {
    for (const char* call : {"members", "add_standby", "standby", "admit", "drain", "remove", "persist"}) {
      fake_.fail_always[call] = Error{ErrorKind::unavailable, "fake balancer cut off"};
    }
  }
  bool make_membership_unwritable() override {
    fake_.unpersistable = Error{ErrorKind::invalid, "the fake's durable copy cannot be written"};
    return true;
  }
  std::unique_ptr<Balancer> misconfigured() override { return nullptr; }

 private:
  fakes::FakeBalancer fake_;
  int pools_ = 0;
};

// ---------------------------------------------------------------------------------------------

std::map<std::string, Member> read_members(Balancer& balancer) {
  auto members = balancer.members();
  if (!members) FAIL("members() failed: " << members.error().message);
  std::map<std::string, Member> by_name;
  for (const auto& member : *members) {
    if (!by_name.emplace(member.name, member).second) FAIL("members() lists " << member.name << " twice");
  }
  return by_name;
}

const Member& find(const std::map<std::string, Member>& members, const std::string& name) {
  const auto found = members.find(name);
  if (found == members.end()) FAIL("members() does not list " << name);
  return found->second;
}

std::vector<std::string> names(const std::vector<MemberSpec>& specs) {
  std::vector<std::string> out;
  for (const auto& spec : specs) out.push_back(spec.name);
  return out;
}

std::vector<MemberSpec> joined(std::vector<MemberSpec> first, const std::vector<MemberSpec>& second) {
  first.insert(first.end(), second.begin(), second.end());
  return first;
}

std::string address_of(const MemberSpec& spec) { return spec.host + ":" + std::to_string(spec.port); }

// Reads members() until every one of `healthy` passed a real check and every one of `failing`
// failed one (so the balancer has really checked them all); returns the last reading.
std::map<std::string, Member> wait_checked(Balancer& balancer, const std::vector<MemberSpec>& healthy,
                                           const std::vector<MemberSpec>& failing = {}) {
  std::map<std::string, Member> members;
  eventually([&] {
    members = read_members(balancer);
    for (const auto& spec : healthy) {
      const auto found = members.find(spec.name);
      if (found == members.end() || !found->second.healthy()) return false;
    }
    for (const auto& spec : failing) {
      const auto found = members.find(spec.name);
      if (found == members.end() || found->second.check != CheckState::failed) return false;
    }
    return true;
  });
  return members;
}

// What a guarded change must not touch, and idempotence must not change.
struct Shape {
  std::string address;
  AdminState admin = AdminState::ready;
  int weight = 0;
  bool operator==(const Shape& other) const {
    return address == other.address && admin == other.admin && weight == other.weight;
  }
};
std::ostream& operator<<(std::ostream& out, const Shape& shape) {
  return out << shape.address << " " << to_string(shape.admin) << " weight " << shape.weight;
}

std::map<std::string, Shape> shapes(const std::map<std::string, Member>& members) {
  std::map<std::string, Shape> out;
  for (const auto& [name, member] : members) out[name] = {member.address, member.admin, member.weight};
  return out;
}

// What a restart must bring back: which members, where, and whether they take traffic.
struct Kept {
  std::string address;
  bool admitted = false;
  bool operator==(const Kept& other) const { return address == other.address && admitted == other.admitted; }
};
std::ostream& operator<<(std::ostream& out, const Kept& kept) {
  return out << kept.address << (kept.admitted ? " admitted" : " not admitted");
}

std::map<std::string, Kept> kept(const std::map<std::string, Member>& members) {
  std::map<std::string, Kept> out;
  for (const auto& [name, member] : members) out[name] = {member.address, member.admitted()};
  return out;
}

// The same members, each the same, one CHECK per member so a failure names it.
template <class Value>
void check_same(const std::map<std::string, Value>& expected, const std::map<std::string, Value>& actual) {
  for (const auto& [name, value] : expected) {
    INFO("member " << name);
    const auto found = actual.find(name);
    CHECK(found != actual.end());
    if (found != actual.end()) CHECK(found->second == value);
  }
  for (const auto& [name, value] : actual) {
    INFO("member " << name << " (" << value << ") appeared");
    CHECK(expected.count(name) == 1);
  }
}

// The responses of `count` requests through the balancer (none without a data path).
std::multiset<std::string> responses(BalancerRig& rig, int count) {
  std::multiset<std::string> bodies;
  for (int i = 0; i < count; ++i) {
    auto body = rig.fetch();
    if (!body) break;
    bodies.insert(*body);
  }
  return bodies;
}

// The member Phoenix did not add is still there as it was.
void check_foreign_untouched(BalancerRig& rig, const Member& before) {
  const auto members = read_members(rig.balancer());
  const auto found = members.find(rig.foreign_name());
  REQUIRE(found != members.end());
  CHECK(found->second.address == before.address);
  CHECK(found->second.admin == before.admin);
  CHECK(found->second.weight == before.weight);
}

#define CONFORMANCE_BALANCER_RIGS HaproxyRig, HcloudRig, FakeRig

TEMPLATE_TEST_CASE("add_standby: members are checked and routed nothing until admitted; healthy only after a check",
                   "[balancer]", CONFORMANCE_BALANCER_RIGS) {
  TestType rig;
  Balancer& balancer = rig.balancer();
  const auto capabilities = balancer.capabilities();
  const Member foreign = find(read_members(balancer), rig.foreign_name());
  const auto good = rig.servers("1", 2, true);
  const auto bad = rig.servers("2", 1, false);

  REQUIRE_OK(balancer.add_standby(joined(good, bad)));
  auto members = read_members(balancer);
  for (const auto& spec : joined(good, bad)) {
    INFO(spec.name);
    const Member& member = find(members, spec.name);
    CHECK(member.address == address_of(spec));
    CHECK(member.admin == AdminState::ready);
    if (capabilities.standby) {
      CHECK(member.weight == 0);
      CHECK_FALSE(member.admitted());
    } else {
      CHECK(member.admitted());  // documented: without standby, add_standby admits
    }
  }
  // Whatever the balancer assumes of a new server, no check has passed on the failing one.
  CHECK_FALSE(find(members, bad[0].name).healthy());

  members = wait_checked(balancer, good, bad);
  for (const auto& spec : good) {
    INFO(spec.name);
    CHECK(find(members, spec.name).check == CheckState::passed);
    CHECK(find(members, spec.name).up);
    // Passing checks do not admit: only admit() does (where standby exists).
    CHECK(find(members, spec.name).admitted() == !capabilities.standby);
  }
  CHECK(find(members, bad[0].name).check == CheckState::failed);
  CHECK_FALSE(find(members, bad[0].name).healthy());
  if (capabilities.standby) {
    // Checked and healthy, yet routed nothing.
    CHECK(responses(rig, 6).count("1\n") == 0);
  }

  REQUIRE_OK(balancer.admit(names(good)));
  members = read_members(balancer);
  for (const auto& spec : good) CHECK(find(members, spec.name).admitted());
  const auto routed = responses(rig, 12);
  if (!routed.empty()) CHECK(routed.count("1\n") > 0);
  check_foreign_untouched(rig, foreign);
}

// Every rig changes members (the cases above), so none may say it refuses changes: status would
// report a refusal no switch meets.
TEMPLATE_TEST_CASE("changes_allowed says yes where changes go through", "[balancer]", CONFORMANCE_BALANCER_RIGS) {
  TestType rig;
  Balancer& balancer = rig.balancer();
  REQUIRE_OK(balancer.changes_allowed());
  const auto specs = rig.servers("3", 1, true);
  REQUIRE_OK(balancer.add_standby(specs));
  REQUIRE_OK(balancer.changes_allowed());
}

TEMPLATE_TEST_CASE("every operation is idempotent: repeating it succeeds and changes nothing", "[balancer]",
                   CONFORMANCE_BALANCER_RIGS) {
  TestType rig;
  Balancer& balancer = rig.balancer();
  const auto capabilities = balancer.capabilities();
  const Member foreign = find(read_members(balancer), rig.foreign_name());
  const auto specs = rig.servers("3", 2, true);
  const auto pool = names(specs);

  const auto check_unchanged = [&](const std::map<std::string, Shape>& before, const char* what) {
    INFO(what);
    check_same(before, shapes(read_members(balancer)));
  };

  REQUIRE_OK(balancer.add_standby(specs));
  const auto added = shapes(read_members(balancer));
  REQUIRE_OK(balancer.add_standby(specs));
  check_unchanged(added, "add_standby of members that are there");
  wait_checked(balancer, specs);

  REQUIRE_OK(balancer.admit(pool));
  const auto admitted = shapes(read_members(balancer));
  for (const auto& name : pool) CHECK(find(read_members(balancer), name).admitted());
  REQUIRE_OK(balancer.admit(pool));
  check_unchanged(admitted, "admit of admitted members");
  REQUIRE_OK(balancer.add_standby(specs));
  check_unchanged(admitted, "add_standby of admitted members");

  auto drained = balancer.drain(pool, {});
  REQUIRE_OK(drained);
  CHECK(drained->applied);
  const auto after_drain = shapes(read_members(balancer));
  for (const auto& name : pool) {
    // Without drain, members keep taking traffic until remove() cuts them (documented).
    CHECK(find(read_members(balancer), name).admitted() == !capabilities.drain);
  }
  drained = balancer.drain(pool, {});
  REQUIRE_OK(drained);
  CHECK(drained->applied);
  check_unchanged(after_drain, "drain of drained members");
  REQUIRE_OK(balancer.add_standby(specs));
  check_unchanged(after_drain, "add_standby of drained members");

  auto returned_change = balancer.standby(pool, {});
  REQUIRE_OK(returned_change);
  CHECK(returned_change->applied);
  const auto returned = shapes(read_members(balancer));
  for (const auto& name : pool) {
    const Member& member = find(read_members(balancer), name);
    CHECK(member.admin == AdminState::ready);
    CHECK(member.admitted() == !capabilities.standby);
  }
  REQUIRE_OK(balancer.standby(pool, {}));
  check_unchanged(returned, "standby of members on standby");

  auto removed = balancer.remove(pool, {});
  REQUIRE_OK(removed);
  CHECK(removed->applied);
  CHECK(removed->still_connected.empty());
  auto members = read_members(balancer);
  for (const auto& name : pool) CHECK(members.count(name) == 0);
  const auto without = shapes(members);
  removed = balancer.remove(pool, {});
  REQUIRE_OK(removed);
  CHECK(removed->applied);
  check_unchanged(without, "remove of members that are gone");
  REQUIRE_OK(balancer.remove({member_name("3", "404")}, {}));
  check_unchanged(without, "remove of a member that never was");
  check_foreign_untouched(rig, foreign);
}

TEMPLATE_TEST_CASE(
    "standby, drain and remove are guarded: refused with nothing changed unless keep_serving is "
    "admitted and up",
    "[balancer]", CONFORMANCE_BALANCER_RIGS) {
  TestType rig;
  Balancer& balancer = rig.balancer();
  const auto capabilities = balancer.capabilities();
  const Member foreign = find(read_members(balancer), rig.foreign_name());
  const auto old = rig.servers("4", 1, true);
  const auto fresh = rig.servers("5", 1, true);
  const auto sick = rig.servers("6", 1, false);
  REQUIRE_OK(balancer.add_standby(joined(joined(old, fresh), sick)));
  wait_checked(balancer, joined(old, fresh), sick);
  REQUIRE_OK(balancer.admit(names(joined(old, sick))));  // sick: admitted, but down
  const auto before = shapes(read_members(balancer));

  struct Unsafe {
    std::vector<std::string> keep_serving;
    const char* why;
  };
  std::vector<Unsafe> unsafe = {
      {{member_name("5", "404")}, "a member that is not there"},
      {{fresh[0].name, member_name("5", "404")}, "one of them is not there"},
      {names(sick), "admitted but down"},
  };
  if (capabilities.standby) unsafe.push_back({names(fresh), "on standby, not admitted"});
  for (const auto& attempt : unsafe) {
    INFO("keep_serving: " << attempt.why);
    auto drained = balancer.drain(names(old), attempt.keep_serving);
    REQUIRE_OK(drained);
    CHECK_FALSE(drained->applied);
    CHECK_FALSE(drained->refusal.empty());
    check_same(before, shapes(read_members(balancer)));
    auto to_standby = balancer.standby(names(old), attempt.keep_serving);
    REQUIRE_OK(to_standby);
    CHECK_FALSE(to_standby->applied);
    CHECK_FALSE(to_standby->refusal.empty());
    check_same(before, shapes(read_members(balancer)));
    auto removed = balancer.remove(names(old), attempt.keep_serving);
    REQUIRE_OK(removed);
    CHECK_FALSE(removed->applied);
    CHECK_FALSE(removed->refusal.empty());
    check_same(before, shapes(read_members(balancer)));
  }

  REQUIRE_OK(balancer.admit(names(fresh)));
  // An admitted pool that stays hot: to standby while the new one serves (weight 0, checked).
  auto hot = balancer.standby(names(old), names(fresh));
  REQUIRE_OK(hot);
  CHECK(hot->applied);
  CHECK(find(read_members(balancer), old[0].name).admitted() == !capabilities.standby);
  if (capabilities.standby) CHECK(on_standby(find(read_members(balancer), old[0].name)));
  REQUIRE_OK(balancer.admit(names(old)));
  auto drained = balancer.drain(names(old), names(fresh));
  REQUIRE_OK(drained);
  CHECK(drained->applied);
  CHECK(find(read_members(balancer), old[0].name).admitted() == !capabilities.drain);
  auto removed = balancer.remove(names(old), names(fresh));
  REQUIRE_OK(removed);
  CHECK(removed->applied);
  const auto members = read_members(balancer);
  CHECK(members.count(old[0].name) == 0);
  CHECK(find(members, fresh[0].name).admitted());
  check_foreign_untouched(rig, foreign);
}

TEMPLATE_TEST_CASE("operations on several members are one batch: all applied, or an error naming what was not",
                   "[balancer]", CONFORMANCE_BALANCER_RIGS) {
  TestType rig;
  Balancer& balancer = rig.balancer();
  const Member foreign = find(read_members(balancer), rig.foreign_name());
  const auto specs = rig.servers("7", 3, true);
  REQUIRE_OK(balancer.add_standby(specs));
  wait_checked(balancer, specs);
  REQUIRE_OK(balancer.admit(names(specs)));
  auto members = read_members(balancer);
  for (const auto& spec : specs) CHECK(find(members, spec.name).admitted());
  auto removed = balancer.remove(names(specs), {});
  REQUIRE_OK(removed);
  CHECK(removed->applied);
  members = read_members(balancer);
  for (const auto& spec : specs) CHECK(members.count(spec.name) == 0);

  const auto wrong = rig.unacceptable("8");
  const auto added = balancer.add_standby(joined(rig.servers("8", 1, true), {wrong}));
  REQUIRE_FALSE(added.ok());
  INFO(added.error().message);
  CHECK((added.error().message.find(wrong.name) != std::string::npos ||
         added.error().message.find(wrong.server_id) != std::string::npos));
  CHECK(read_members(balancer).count(wrong.name) == 0);
  check_foreign_untouched(rig, foreign);
}

TEMPLATE_TEST_CASE("members Phoenix did not add are listed, and left alone by changes to Phoenix's", "[balancer]",
                   CONFORMANCE_BALANCER_RIGS) {
  TestType rig;
  Balancer& balancer = rig.balancer();
  auto members = read_members(balancer);
  const Member foreign = find(members, rig.foreign_name());
  CHECK_FALSE(parse_member_name(foreign.name).has_value());
  CHECK(foreign.address == rig.foreign_address());
  CHECK(foreign.admitted());

  const auto ours = rig.servers("9", 2, true);
  REQUIRE_OK(balancer.add_standby(ours));
  wait_checked(balancer, ours);
  REQUIRE_OK(balancer.admit(names(ours)));
  REQUIRE_OK(balancer.drain(names(ours), {}));
  REQUIRE_OK(balancer.standby(names(ours), {}));
  REQUIRE_OK(balancer.remove(names(ours), {}));
  check_foreign_untouched(rig, foreign);
  // And it still takes the traffic, where there is a data path.
  for (const auto& body : responses(rig, 4)) CHECK(body != "9\n");
}

TEMPLATE_TEST_CASE("persist and durable_members: the membership a restart comes back with", "[balancer]",
                   CONFORMANCE_BALANCER_RIGS) {
  TestType rig;
  Balancer& balancer = rig.balancer();
  const auto live = rig.servers("10", 2, true);
  const auto standby = rig.servers("11", 1, true);
  REQUIRE_OK(balancer.add_standby(joined(live, standby)));
  wait_checked(balancer, joined(live, standby));
  REQUIRE_OK(balancer.admit(names(live)));

  const auto running = read_members(balancer);
  std::vector<Member> listed;
  for (const auto& [name, member] : running) listed.push_back(member);
  REQUIRE_OK(balancer.persist(listed));
  auto durable = balancer.durable_members();
  REQUIRE_OK(durable);

  if (!durable->has_value()) {
    // Documented: a balancer durable by nature keeps no separate copy; persist changes nothing,
    // and it never says it wrote one.
    check_same(kept(running), kept(read_members(balancer)));
    CHECK(balancer.keeping().kind == KeepingKind::by_balancer);
    return;
  }
  CHECK(balancer.keeping().kind == KeepingKind::written);
  std::map<std::string, Member> copy;
  for (const auto& member : **durable) copy[member.name] = member;
  check_same(kept(running), kept(copy));

  if (rig.restart()) {
    // The balancer comes back from its durable copy, the members Phoenix did not add included.
    check_same(kept(running), kept(wait_checked(balancer, live)));
  }
}

// keeping() says what persist() does (Balancer::keeping): where the durable copy cannot be written
// and runtime-only switching is allowed (a rollback), runtime_only with why (persistable()'s
// message), for as long as the balancer lives; persist() then succeeds and writes nothing. A
// balancer that keeps no such copy is never runtime only.
TEMPLATE_TEST_CASE("keeping(): runtime only, and why, where the membership cannot be written; persist() obeys it",
                   "[balancer][durable]", CONFORMANCE_BALANCER_RIGS) {
  TestType rig;
  Balancer& balancer = rig.balancer();
  const auto ours = rig.servers("12", 1, true);
  const auto before = balancer.durable_members();
  REQUIRE_OK(before);
  if (!rig.make_membership_unwritable()) {
    balancer.allow_runtime_only();
    CHECK_FALSE(balancer.keeping().runtime_only());
    CHECK(balancer.keeping().why.empty());
    return;
  }
  const auto why = balancer.persistable();
  REQUIRE_FALSE(why.ok());
  balancer.allow_runtime_only();
  const auto keeping = balancer.keeping();
  CHECK(keeping.kind == KeepingKind::runtime_only);
  CHECK(keeping.why == why.error().message);
  REQUIRE_OK(balancer.add_standby(ours));  // no longer refused: a change at runtime only
  const auto running = read_members(balancer);
  std::vector<Member> listed;
  for (const auto& [name, member] : running) listed.push_back(member);
  REQUIRE_OK(balancer.persist(listed));
  const auto after = balancer.durable_members();
  REQUIRE_OK(after);
  REQUIRE(after->has_value() == before->has_value());
  if (after->has_value()) CHECK(member_labels(**after) == member_labels(**before));  // nothing written
  CHECK(balancer.keeping().why == keeping.why);  // the answer holds, for every rollback to warn with
}

TEMPLATE_TEST_CASE("instance() is stable while the balancer runs and changes when it reloads", "[balancer]",
                   CONFORMANCE_BALANCER_RIGS) {
  TestType rig;
  Balancer& balancer = rig.balancer();
  const auto first = balancer.instance();
  REQUIRE_OK(first);
  const auto specs = rig.servers("12", 1, true);
  REQUIRE_OK(balancer.add_standby(specs));
  wait_checked(balancer, specs);
  REQUIRE_OK(balancer.admit(names(specs)));
  REQUIRE_OK(balancer.remove(names(specs), {}));
  for (int i = 0; i < 3; ++i) {
    const auto again = balancer.instance();
    REQUIRE_OK(again);
    CHECK(*again == *first);
  }
  if (rig.reload()) {
    const auto reloaded = balancer.instance();
    REQUIRE_OK(reloaded);
    CHECK(*reloaded != *first);
  } else {
    CHECK(first->empty());  // documented: "" when the balancer has no notion of an instance
  }
}

TEMPLATE_TEST_CASE("snapshot() is instance() and members() in one look, and sees a reload", "[balancer]",
                   CONFORMANCE_BALANCER_RIGS) {
  TestType rig;
  Balancer& balancer = rig.balancer();
  const auto live = rig.servers("16", 2, true);
  const auto standby = rig.servers("17", 1, true);
  REQUIRE_OK(balancer.add_standby(joined(live, standby)));
  wait_checked(balancer, joined(live, standby));
  REQUIRE_OK(balancer.admit(names(live)));
  const auto instance = balancer.instance();
  REQUIRE_OK(instance);

  const auto snapshot = balancer.snapshot();
  REQUIRE_OK(snapshot);
  CHECK(snapshot->instance == *instance);
  std::map<std::string, Member> seen;
  for (const auto& member : snapshot->members) seen[member.name] = member;
  check_same(kept(read_members(balancer)), kept(seen));
  for (const auto& spec : joined(live, standby)) {
    INFO("member " << spec.name);
    CHECK(find(seen, spec.name).healthy());  // the check results are part of the look
  }
  if (balancer.capabilities().standby) CHECK(find(seen, standby[0].name).weight == 0);

  if (rig.reload()) {
    const auto after = balancer.snapshot();
    REQUIRE_OK(after);
    CHECK(after->instance != *instance);
  }
  rig.cut_off();
  const auto cut = balancer.snapshot();
  REQUIRE_FALSE(cut.ok());
  CHECK(cut.error().kind == ErrorKind::unavailable);
}

TEMPLATE_TEST_CASE("remove keeps members with open connections in maintenance and names them; without drain it cuts",
                   "[balancer]", CONFORMANCE_BALANCER_RIGS) {
  TestType rig;
  Balancer& balancer = rig.balancer();
  const auto capabilities = balancer.capabilities();
  const auto specs = rig.servers("13", 1, true);
  const std::string name = specs[0].name;
  REQUIRE_OK(balancer.add_standby(specs));
  wait_checked(balancer, specs);
  REQUIRE_OK(balancer.admit({name}));

  rig.hold_connections(name);
  std::map<std::string, Member> members;
  REQUIRE(eventually([&] {
    members = read_members(balancer);
    return find(members, name).sessions > 0 || !capabilities.drain;
  }));
  REQUIRE_OK(balancer.drain({name}, {}));
  auto removed = balancer.remove({name}, {});
  REQUIRE_OK(removed);
  CHECK(removed->applied);
  if (capabilities.drain) {
    CHECK(removed->still_connected == std::vector<std::string>{name});
    const Member& kept = find(read_members(balancer), name);
    CHECK(kept.admin == AdminState::maint);
    CHECK_FALSE(kept.admitted());
    rig.release_connections();
    // Once they ended, a retry takes it out (callers watch members() meanwhile).
    REQUIRE(eventually([&] {
      read_members(balancer);
      auto again = balancer.remove({name}, {});
      return again.ok() && again->applied && again->still_connected.empty();
    }));
  } else {
    // Documented: without drain, remove() cuts members at once.
    CHECK(removed->still_connected.empty());
    rig.release_connections();
  }
  CHECK(read_members(balancer).count(name) == 0);
}

TEMPLATE_TEST_CASE("errors: a configuration that cannot work is invalid; an unreachable balancer is unavailable",
                   "[balancer]", CONFORMANCE_BALANCER_RIGS) {
  TestType rig;
  const auto specs = rig.servers("14", 1, true);
  const auto retryable = [](const Error& error) {
    INFO(error.message);
    CHECK((error.kind == ErrorKind::unavailable || error.kind == ErrorKind::timeout));
  };
  if (auto wrong = rig.misconfigured()) {
    const auto members = wrong->members();
    REQUIRE_FALSE(members.ok());
    CHECK(members.error().kind == ErrorKind::invalid);
    const auto added = wrong->add_standby(specs);
    REQUIRE_FALSE(added.ok());
    CHECK(added.error().kind == ErrorKind::invalid);
  }

  Balancer& balancer = rig.balancer();
  REQUIRE_OK(balancer.members());  // the balancer knows where it is before it is cut off
  rig.cut_off();
  const auto members = balancer.members();
  REQUIRE_FALSE(members.ok());
  retryable(members.error());
  const auto added = balancer.add_standby(specs);
  REQUIRE_FALSE(added.ok());
  retryable(added.error());
  const auto removed = balancer.remove(names(specs), {rig.foreign_name()});
  REQUIRE_FALSE(removed.ok());
  retryable(removed.error());
}

}  // namespace balancer_conformance
