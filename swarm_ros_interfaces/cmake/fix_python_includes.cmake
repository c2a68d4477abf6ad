# Included after project() by build_backend.py only (pip builds against the ros-* wheels from
# PyPI; colcon does not use it). Those wheels' exported *__rosidl_generator_py targets list the
# wheel builder's Python and NumPy include directories (/opt/python/...), which do not exist
# here: once CMakeLists.txt is processed, point them at this interpreter's.
function(swarm_fix_python_includes)
  get_property(targets DIRECTORY "${CMAKE_SOURCE_DIR}" PROPERTY IMPORTED_TARGETS)
  foreach(target IN LISTS targets)
    get_target_property(dirs ${target} INTERFACE_INCLUDE_DIRECTORIES)
    if(dirs AND dirs MATCHES "/opt/python/")
      list(TRANSFORM dirs REPLACE "^/opt/python/[^/]+/include/python[0-9.]+$" "${SWARM_PYTHON_INCLUDE}")
      list(TRANSFORM dirs REPLACE "^/opt/python/.*/numpy/(_core/)?include$" "${SWARM_NUMPY_INCLUDE}")
      set_target_properties(${target} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${dirs}")
    endif()
  endforeach()
endfunction()
cmake_language(DEFER DIRECTORY "${CMAKE_SOURCE_DIR}" CALL swarm_fix_python_includes)
