// phoenix-bench: the hot paths an operator waits on, at sizes beyond any real service:
// configuration parsing, the planner with 1,000 pools, HAProxy answer parsing for 1,000
// servers, and `list --output json` rendering for 1,000 pools.

#include <benchmark/benchmark.h>

#include <string>

#include "fakes/fake_balancer.hpp"
#include "fakes/fake_provider.hpp"
#include "shared/balancers/haproxy_answers.hpp"
#include "shared/config/config.hpp"
#include "shared/core/planner.hpp"
#include "shared/core/render.hpp"

using namespace phoenix;

namespace {

const char* kConfig = R"({
  "service": "web",
  "pool": { "size": 3 },
  "provider": { "type": "local", "state_dir": ".phoenix", "artifact": "build/bin/phoenix-sample-app",
                "command": ["{artifact}", "--listen", "{host}:{port}", "--release", "{label}"] },
  "smoke_test": { "timeout_s": 30,
                  "checks": [ { "name": "health", "path": "/health", "expect_status": 200 },
                              { "name": "release", "path": "/", "expect_body": "{label}" } ] },
  "balancer": { "type": "haproxy", "socket": "/run/haproxy/admin.sock", "backend": "web",
                "config_file": "/etc/haproxy/haproxy.cfg", "health_timeout_s": 30,
                "drain_timeout_s": 30, "check": { "interval_ms": 200, "rise": 1, "fall": 2 } },
  "retention": { "keep": 3 }
})";

fakes::FakeProvider pools(int count, int servers_each) {
  fakes::FakeProvider provider;
  for (int i = 0; i < count; ++i) provider.add_pool(std::to_string(i), servers_each, count - i);
  return provider;
}

std::vector<Member> live_members(const Pool& pool) {
  std::vector<Member> members;
  for (const auto& server : pool.servers) {
    Member member;
    member.name = member_name(pool.label(), server.id);
    member.address = server.address();
    member.weight = 1;
    member.up = true;
    member.check = CheckState::passed;
    members.push_back(member);
  }
  return members;
}

std::string servers_state(int count) {
  std::string text =
      "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight "
      "srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state "
      "srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port "
      "srv_check_addr srv_agent_addr srv_agent_port\n";
  for (int i = 0; i < count; ++i) {
    text += "3 web " + std::to_string(i + 1) + " " + std::to_string(i / 50) + ":" + std::to_string(i % 50) +
            " 127.64." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1) +
            " 2 0 1 1 10 15 3 2 6 0 0 0 - 8080 - 0 0 - - 0\n";
  }
  return text;
}

std::string show_stat(int count) {
  std::string text =
      "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,"
      "weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,"
      "rate_lim,rate_max,check_status,check_code,check_duration,addr\n";
  for (int i = 0; i < count; ++i) {
    text += "web," + std::to_string(i / 50) + ":" + std::to_string(i % 50) +
            ",0,0,2,5,,100,0,0,,0,,0,0,0,0,UP,1,1,0,0,0,9,0,,1,3,1,,100,,2,0,,5,L7OK,200,0,127.64.0.1:8080\n";
  }
  return text;
}

void BM_ParseConfig(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(config::parse_config(kConfig, "/srv/web.json"));
}
BENCHMARK(BM_ParseConfig);

void BM_PlanSwitch1000Pools(benchmark::State& state) {
  auto provider = pools(1000, 3);
  const auto members = live_members(provider.pools[10]);
  for (auto _ : state) benchmark::DoNotOptimize(plan_switch({"5", false}, provider.pools, members));
}
BENCHMARK(BM_PlanSwitch1000Pools);

void BM_RollbackTarget1000Pools(benchmark::State& state) {
  auto provider = pools(1000, 3);
  for (int i = 11; i < 990; ++i) provider.pools[static_cast<std::size_t>(i)].meta.verdict = LiveVerdict::bad;
  const auto members = live_members(provider.pools[10]);
  for (auto _ : state) benchmark::DoNotOptimize(choose_rollback_target(provider.pools, members, std::nullopt));
}
BENCHMARK(BM_RollbackTarget1000Pools);

void BM_Prune1000Pools(benchmark::State& state) {
  auto provider = pools(1000, 3);
  const auto members = live_members(provider.pools[10]);
  for (auto _ : state) benchmark::DoNotOptimize(plan_prune(provider.pools, members, {.keep = 3, .keep_good = 2}));
}
BENCHMARK(BM_Prune1000Pools);

void BM_ParseShowServersState1000(benchmark::State& state) {
  const auto text = servers_state(1000);
  for (auto _ : state) benchmark::DoNotOptimize(haproxy::parse_servers_state(text));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_ParseShowServersState1000);

void BM_ParseShowStat1000(benchmark::State& state) {
  const auto text = show_stat(1000);
  for (auto _ : state) benchmark::DoNotOptimize(haproxy::parse_show_stat(text));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_ParseShowStat1000);

void BM_MembersFromAnswers1000(benchmark::State& state) {
  const auto states = *haproxy::parse_servers_state(servers_state(1000));
  const auto stats = *haproxy::parse_show_stat(show_stat(1000));
  for (auto _ : state) benchmark::DoNotOptimize(haproxy::to_members(states, stats));
}
BENCHMARK(BM_MembersFromAnswers1000);

void BM_RenderListJson1000Pools(benchmark::State& state) {
  PoolListing listing;
  listing.service = "web";
  listing.pools = pools(1000, 3).pools;
  listing.live = {"10"};
  for (auto _ : state) benchmark::DoNotOptimize(render_pools_json(listing));
}
BENCHMARK(BM_RenderListJson1000Pools);

}  // namespace

BENCHMARK_MAIN();
