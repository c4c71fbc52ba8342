// Command handlers, one per command, grouped by file:
//   string_commands.cc   GET SET SETNX SETEX PSETEX GETSET GETDEL GETEX MGET MSET MSETNX
//   value_commands.cc    INCR DECR INCRBY DECRBY INCRBYFLOAT APPEND STRLEN GETRANGE SETRANGE
//   key_commands.cc      DEL UNLINK EXISTS TOUCH TYPE SCAN KEYS RANDOMKEY DBSIZE FLUSHDB FLUSHALL
//   expire_commands.cc   EXPIRE PEXPIRE EXPIREAT PEXPIREAT TTL PTTL PERSIST
//   server_commands.cc   PING ECHO QUIT AUTH SELECT HELLO CLIENT
//   admin_commands.cc    COMMAND CONFIG INFO
//   job_commands.cc      JOB.ENQUEUE JOB.LEASE JOB.RENEW JOB.COMPLETE JOB.GET JOB.PULL
//                        JOB.RELEASE JOB.STATS (jobs/protocol.h)
// Each handler runs after the dispatcher checked arity and authentication,
// and appends exactly one reply.
#pragma once

#include "node/commands/internal/context.h"

namespace ringkv::node::internal {

void GetCommand(Context& ctx);
void SetCommand(Context& ctx);
void SetNxCommand(Context& ctx);
void SetExCommand(Context& ctx);
void PSetExCommand(Context& ctx);
void GetSetCommand(Context& ctx);
void GetDelCommand(Context& ctx);
void GetExCommand(Context& ctx);
void MGetCommand(Context& ctx);
void MSetCommand(Context& ctx);
void MSetNxCommand(Context& ctx);

void IncrCommand(Context& ctx);
void DecrCommand(Context& ctx);
void IncrByCommand(Context& ctx);
void DecrByCommand(Context& ctx);
void IncrByFloatCommand(Context& ctx);
void AppendCommand(Context& ctx);
void StrLenCommand(Context& ctx);
void GetRangeCommand(Context& ctx);
void SetRangeCommand(Context& ctx);

void DelCommand(Context& ctx);
void ExistsCommand(Context& ctx);
void TouchCommand(Context& ctx);
void TypeCommand(Context& ctx);
void ScanCommand(Context& ctx);
void KeysCommand(Context& ctx);
void RandomKeyCommand(Context& ctx);
void DbSizeCommand(Context& ctx);
void FlushCommand(Context& ctx);

void ExpireCommand(Context& ctx);
void PExpireCommand(Context& ctx);
void ExpireAtCommand(Context& ctx);
void PExpireAtCommand(Context& ctx);
void TtlCommand(Context& ctx);
void PTtlCommand(Context& ctx);
void PersistCommand(Context& ctx);

void PingCommand(Context& ctx);
void EchoCommand(Context& ctx);
void QuitCommand(Context& ctx);
void AuthCommand(Context& ctx);
void SelectCommand(Context& ctx);
void HelloCommand(Context& ctx);
void ClientCommand(Context& ctx);

void CommandCommand(Context& ctx);
void ConfigCommand(Context& ctx);
void InfoCommand(Context& ctx);

void JobEnqueueCommand(Context& ctx);
void JobLeaseCommand(Context& ctx);
void JobRenewCommand(Context& ctx);
void JobCompleteCommand(Context& ctx);
void JobGetCommand(Context& ctx);
void JobPullCommand(Context& ctx);
void JobReleaseCommand(Context& ctx);
void JobStatsCommand(Context& ctx);

}  // namespace ringkv::node::internal
