#include "shared/balancers/haproxy_answers.hpp"

#include <catch2/catch.hpp>

using namespace phoenix;
using namespace phoenix::haproxy;

namespace {

// Real answers captured from HAProxy 2.6.12 (Debian 12).
const char* kServersState =
    "1\n"
    "# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight "
    "srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state "
    "bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr "
    "srv_agent_addr srv_agent_port\n"
    "3 web 1 1:1 127.64.0.1 2 0 1 0 0 15 3 2 6 0 0 0 - 54983 - 0 0 - - 0\n"
    "3 web 2 2:1 127.64.0.4 2 8 1 1 0 15 3 2 6 0 0 0 - 60909 - 0 0 - - 0\n"
    "3 web 3 3:1 127.64.0.7 0 1 0 1 0 1 0 0 6 0 0 0 - 60910 - 0 0 - - 0\n"
    "3 web 4 4:1 127.64.0.8 2 0 0 0 0 1 0 2 6 0 0 0 - 60911 - 0 0 - - 0\n";

const char* kShowStat =
    "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,"
    "act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,"
    "check_status,check_code,check_duration,addr\n"
    "web,1:1,0,0,2,5,,100,0,0,,0,,0,0,0,0,UP,1,1,0,0,0,9,0,,1,3,1,,100,,2,0,,5,L7OK,200,0,127.64.0.1:54983\n"
    "web,2:1,0,0,1,1,,10,0,0,,0,,0,0,0,0,DRAIN,1,1,0,0,0,9,0,,1,3,2,,10,,2,0,,1,L7OK,200,0,127.64.0.4:60909\n"
    "web,3:1,0,0,0,0,,0,0,0,,0,,0,0,0,0,MAINT,0,1,0,0,0,9,0,,1,3,3,,0,,2,0,,0,L4CON,,0,127.64.0.7:60910\n"
    "web,4:1,0,0,0,0,,0,0,0,,0,,0,0,0,0,UP 1/2,0,1,0,0,0,9,0,,1,3,4,,0,,2,0,,0,* INI,,0,127.64.0.8:60911\n"
    "web,BACKEND,0,0,3,5,200,110,0,0,0,0,,0,0,0,0,UP,2,2,0,,0,9,0,,1,3,0,,110,,1,0,,5,,,,\n";

}  // namespace

TEST_CASE("interactive answers are split by the prompt", "[haproxy]") {
  const std::string output =
      "\n> New server registered.\n\n> \n> \n> Server deleted.\n> No such server.\n> 1\n# be_id be_name\n\n> ";
  const auto answers = split_interactive_answers(output);
  REQUIRE(answers.size() == 6);
  CHECK(answers[0] == "New server registered.");
  CHECK(answers[1].empty());
  CHECK(answers[2].empty());
  CHECK(answers[3] == "Server deleted.");
  CHECK(answers[4] == "No such server.");
  CHECK(answers[5] == "1\n# be_id be_name");
}

TEST_CASE("an answer cut short by a closed connection is not counted", "[haproxy]") {
  CHECK(split_interactive_answers("\n> \n> # pxname,svname\nweb,1:1,").size() == 1);
  CHECK(split_interactive_answers("").empty());
  CHECK(split_interactive_answers("garbage without a prompt").empty());
}

TEST_CASE("show servers state is parsed by header names", "[haproxy]") {
  auto rows = parse_servers_state(kServersState);
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == 4);
  CHECK((*rows)[0].server == "1:1");
  CHECK((*rows)[0].address == "127.64.0.1");
  CHECK((*rows)[0].port == 54983);
  CHECK((*rows)[0].operational == 2);
  CHECK((*rows)[1].admin == 8);
  CHECK((*rows)[3].user_weight == 0);
  CHECK(parse_servers_state("1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state "
                            "srv_uweight srv_port\n")
            ->empty());
}

TEST_CASE("unexpected answers are errors that quote HAProxy", "[haproxy]") {
  CHECK_THAT(parse_servers_state("Can't find backend.").error().message, Catch::Contains("Can't find backend."));
  CHECK(parse_servers_state("2\n# be_id\n").error().kind == ErrorKind::unavailable);
  CHECK_THAT(parse_servers_state("1\n# be_id be_name\n").error().message, Catch::Contains("no column"));
  CHECK(parse_show_stat("Unknown command").error().kind == ErrorKind::unavailable);
}

TEST_CASE("show stat is parsed by header names, skipping frontend and backend rows", "[haproxy]") {
  auto rows = parse_show_stat(kShowStat);
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == 4);
  CHECK((*rows)[0].sessions == 2);
  CHECK((*rows)[0].status == "UP");
  CHECK((*rows)[0].check_status == "L7OK");
  CHECK((*rows)[3].check_status == "INI");  // the "* " in-progress marker is dropped
  CHECK((*rows)[3].status == "UP 1/2");
}

TEST_CASE("members join both answers and tell standby, drain and maintenance apart", "[haproxy]") {
  const auto members = to_members(*parse_servers_state(kServersState), *parse_show_stat(kShowStat));
  REQUIRE(members.size() == 4);
  CHECK(members[0].admitted());
  CHECK(members[0].healthy());
  CHECK(members[0].address == "127.64.0.1:54983");
  CHECK(members[0].sessions == 2);
  CHECK(members[1].admin == AdminState::drain);
  CHECK_FALSE(members[1].admitted());
  CHECK(members[2].admin == AdminState::maint);
  CHECK_FALSE(members[2].healthy());
  // Freshly enabled: HAProxy says "UP 1/2" but no check has passed yet, and weight 0.
  CHECK(members[3].up);
  CHECK(members[3].check == CheckState::pending);
  CHECK_FALSE(members[3].admitted());
}

TEST_CASE("admin state bits map to ready, drain and maintenance", "[haproxy]") {
  CHECK(admin_state_from_bits(0) == AdminState::ready);
  CHECK(admin_state_from_bits(0x08) == AdminState::drain);
  CHECK(admin_state_from_bits(0x10) == AdminState::drain);
  for (int bit : {0x01, 0x02, 0x04, 0x20, 0x40, 0x09}) CHECK(admin_state_from_bits(bit) == AdminState::maint);
}

TEST_CASE("the backend's algorithm is read from its row of show stat, by header name", "[haproxy][algorithm]") {
  // Captured from HAProxy 2.6.12: 'show stat a 2 -1' of a backend with 'balance static-rr' (the
  // columns after algo cut short).
  const std::string answer =
      "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,"
      "act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,"
      "check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,"
      "req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt,"
      "qtime,ctime,rtime,ttime,agent_status,agent_code,agent_duration,check_desc,agent_desc,check_rise,check_fall,"
      "check_health,agent_rise,agent_fall,agent_health,addr,cookie,mode,algo,conn_rate\n"
      "a,BACKEND,0,0,0,0,1,0,0,0,0,0,,0,0,0,0,UP,0,0,0,,0,0,,,1,2,0,,0,,1,0,,0,,,,0,0,0,0,0,0,,,,0,0,0,0,0,0,0,-1,,,0,"
      "0,0,0,,,,,,,,,,,,,,http,static-rr,\n";
  CHECK(backend_algorithm(answer) == "static-rr");
  CHECK(backend_algorithm("# pxname,svname,algo\nweb,1:1,\nweb,BACKEND,roundrobin\n") == "roundrobin");
  // No BACKEND row, no algo column, or no answer HAProxy would give: nothing to judge by.
  CHECK_FALSE(backend_algorithm("# pxname,svname,algo\nweb,1:1,\n").has_value());
  CHECK_FALSE(backend_algorithm("# pxname,svname,status\nweb,BACKEND,UP\n").has_value());
  CHECK_FALSE(backend_algorithm("Unknown command.").has_value());
  CHECK_FALSE(backend_algorithm("").has_value());
}

TEST_CASE("algorithms: static-rr never takes servers at runtime, a hash one only with hash-type consistent",
          "[haproxy][algorithm]") {
  CHECK(algorithm_kind("static-rr") == AlgorithmKind::fixed);
  for (const char* hashed : {"source", "uri", "url_param", "hdr", "rdp-cookie", "hash"}) {
    INFO(hashed);
    CHECK(algorithm_kind(hashed) == AlgorithmKind::hashed);
  }
  // 2.6 names random "unknown"; a name a later HAProxy adds is left to HAProxy to refuse.
  for (const char* dynamic : {"roundrobin", "leastconn", "first", "unknown", "random", "something-new", ""}) {
    INFO(dynamic);
    CHECK(algorithm_kind(dynamic) == AlgorithmKind::dynamic);
  }
}

// A hash algorithm takes servers at runtime with 'hash-type consistent' and keeps its stickiness;
// advising roundrobin there would throw that away. static-rr has no such setting.
TEST_CASE("the advice for a backend that takes no servers at runtime follows its algorithm", "[haproxy][algorithm]") {
  for (const char* hashed : {"source", "uri", "url_param", "hdr", "rdp-cookie", "hash"}) {
    INFO(hashed);
    CHECK(dynamic_algorithm_advice("web", std::string(hashed)) ==
          "add 'hash-type consistent' to backend 'web' (keeping 'balance " + std::string(hashed) + "')");
  }
  CHECK(dynamic_algorithm_advice("web", std::string("static-rr")) ==
        "give backend 'web' 'balance roundrobin' or 'balance leastconn'");
  // Not known (no look yet, a HAProxy that does not say), or one that takes servers (the backend
  // changed since it was read): both ways.
  const std::string both =
      "give backend 'web' 'balance roundrobin' or 'balance leastconn' (with a hash algorithm: add 'hash-type "
      "consistent' to backend 'web')";
  CHECK(dynamic_algorithm_advice("web", std::nullopt) == both);
  CHECK(dynamic_algorithm_advice("web", std::string("roundrobin")) == both);
}
