# ringkv_node_core: Redis command semantics over store::Engine, node metrics,
# and the node's part in live rebalancing without the network (migration.*)
# (owned with commands.*, metrics.*, internal/*); JOB.* drive a jobs::QueueShard.
find_package(nlohmann_json REQUIRED)
set(RINGKV_NODE_INTERNAL ${CMAKE_CURRENT_LIST_DIR}/internal)
add_library(ringkv_node_core
  ${CMAKE_CURRENT_LIST_DIR}/commands.cc
  ${CMAKE_CURRENT_LIST_DIR}/metrics.cc
  ${CMAKE_CURRENT_LIST_DIR}/cluster_view.cc
  ${CMAKE_CURRENT_LIST_DIR}/migration_roles.cc
  ${RINGKV_NODE_INTERNAL}/arc_dropper.cc
  ${RINGKV_NODE_INTERNAL}/admin_commands.cc
  ${RINGKV_NODE_INTERNAL}/command_table.cc
  ${RINGKV_NODE_INTERNAL}/context.cc
  ${RINGKV_NODE_INTERNAL}/expire_commands.cc
  ${RINGKV_NODE_INTERNAL}/glob.cc
  ${RINGKV_NODE_INTERNAL}/job_commands.cc
  ${RINGKV_NODE_INTERNAL}/key_commands.cc
  ${RINGKV_NODE_INTERNAL}/placement.cc
  ${RINGKV_NODE_INTERNAL}/parse.cc
  ${RINGKV_NODE_INTERNAL}/server_commands.cc
  ${RINGKV_NODE_INTERNAL}/string_commands.cc
  ${RINGKV_NODE_INTERNAL}/string_options.cc
  ${RINGKV_NODE_INTERNAL}/value_commands.cc)
target_link_libraries(ringkv_node_core
  PUBLIC ringkv_jobs ringkv_store ringkv_cluster ringkv_resp ringkv_base
  PRIVATE nlohmann_json::nlohmann_json)
ringkv_test(node_commands_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/commands_test.cc
    ${RINGKV_NODE_INTERNAL}/glob_test.cc
    ${RINGKV_NODE_INTERNAL}/key_commands_test.cc
    ${RINGKV_NODE_INTERNAL}/parse_test.cc
    ${RINGKV_NODE_INTERNAL}/test_fixture.cc
  LIBS ringkv_node_core)
