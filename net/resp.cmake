# ringkv_resp: the pure RESP2 codec (owned with resp_parser.*, resp_writer.h).
add_library(ringkv_resp ${CMAKE_CURRENT_LIST_DIR}/resp_parser.cc)
target_link_libraries(ringkv_resp PUBLIC ringkv_base)
ringkv_test(resp_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/resp_parser_test.cc LIBS ringkv_resp)
