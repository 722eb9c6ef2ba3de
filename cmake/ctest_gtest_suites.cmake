# Read by CTest (a TEST_INCLUDE_FILES script written by tests/CMakeLists.txt): one CTest test
# per GoogleTest suite of ZOO_SUITE_BINARY, labelled ZOO_SUITE_LABEL. Unit test cases take
# milliseconds while starting a process that loads LibTorch takes ~0.8 s, so one process a
# suite instead of one a case cuts the unit tests' time in half and more.
if(NOT EXISTS "${ZOO_SUITE_BINARY}")
  add_test("${ZOO_SUITE_LABEL}_tests_not_built" "${ZOO_SUITE_BINARY}")
  return()
endif()
execute_process(COMMAND "${ZOO_SUITE_BINARY}" --gtest_list_tests
                OUTPUT_VARIABLE listing RESULT_VARIABLE status TIMEOUT 60)
if(NOT status EQUAL 0)
  # Listing failed: a test that runs the binary shows why, instead of a suite that is silently empty.
  add_test("${ZOO_SUITE_LABEL}_tests_cannot_list" "${ZOO_SUITE_BINARY}" --gtest_list_tests)
  return()
endif()
string(REPLACE "\n" ";" lines "${listing}")
foreach(line IN LISTS lines)
  if(line MATCHES "^([A-Za-z_][A-Za-z0-9_/]*)\\.")
    set(suite "${CMAKE_MATCH_1}")
    add_test("${suite}" "${ZOO_SUITE_BINARY}" "--gtest_filter=${suite}.*")
    set_tests_properties("${suite}" PROPERTIES LABELS "${ZOO_SUITE_LABEL}" TIMEOUT 600 ENVIRONMENT "${ZOO_TEST_ENVIRONMENT}")
  endif()
endforeach()
