# SPDX-License-Identifier: GPL-2.0
# ctest quantad_unit_paths: the generated unit names the installed daemon,
# config and documentation under the install prefix, and nothing is left
# unsubstituted.
file(READ ${UNIT} text)
foreach(want "ExecStart=${SBIN}/quantad --config ${ETC}/kvm-quanta/quantad.toml"
             "Documentation=file://${DOC}/quantad.rst")
  string(FIND "${text}" "${want}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "${UNIT}: no '${want}'")
  endif()
endforeach()
if(text MATCHES "@[A-Z_]+@")
  message(FATAL_ERROR "${UNIT}: unsubstituted ${CMAKE_MATCH_0}")
endif()
