# The RocksDB engine (owned with rocksdb_engine.*).
find_package(RocksDB CONFIG REQUIRED)
target_sources(ringkv_store PRIVATE ${CMAKE_CURRENT_LIST_DIR}/rocksdb_engine.cc)
target_link_libraries(ringkv_store PUBLIC RocksDB::rocksdb-shared)
ringkv_test(store_rocksdb_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/rocksdb_engine_test.cc LIBS ringkv_store)
