# Writes OUTPUT, the gzip'd manual page of PROGRAM, with help2man from the program's own --help
# and every command's --help, so the manual page says what --help says and cannot drift.
#
#   cmake -DPROGRAM=bin/create-pipeline -DDESCRIPTION="..." -DVERSION=0.1.0 -DHELP2MAN=/usr/bin/help2man
#         -DOUTPUT=create-pipeline.1.gz -P man_page.cmake

function(run_help out)
  execute_process(COMMAND ${ARGN} OUTPUT_VARIABLE text RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    string(REPLACE ";" " " command "${ARGN}")
    message(FATAL_ERROR "'${command}' failed (${status})")
  endif()
  set(${out} "${text}" PARENT_SCOPE)
endfunction()

# roff that shows `text` as it is: backslashes escaped, no line taken for a request.
function(roff_literal out text)
  string(REPLACE "\\" "\\e" text "${text}")
  string(REGEX REPLACE "(^|\n)([.'])" "\\1\\\\&\\2" text "${text}")
  set(${out} "${text}" PARENT_SCOPE)
endfunction()

run_help(help "${PROGRAM}" --help)
string(REGEX MATCH "Commands:\n(  [^\n]+\n)+" block "${help}")
string(REGEX MATCHALL "\n  [a-z][a-z-]+ " names "${block}")
set(include "[COMMANDS]\nEach command has its own options; every command takes the common options.\n")
foreach(name IN LISTS names)
  string(STRIP "${name}" name)
  run_help(command_help "${PROGRAM}" "${name}" --help)
  roff_literal(command_help "${command_help}")
  string(APPEND include ".SS ${name}\n.nf\n${command_help}.fi\n")
endforeach()

get_filename_component(page "${OUTPUT}" NAME_WLE)
set(work "${OUTPUT}.d")
file(MAKE_DIRECTORY "${work}")
file(WRITE "${work}/commands.h2m" "${include}")
execute_process(
  COMMAND "${HELP2MAN}" --no-info --section=1 "--name=${DESCRIPTION}" "--version-string=${VERSION}"
          "--include=${work}/commands.h2m" "--output=${work}/${page}" "${PROGRAM}"
  RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "help2man failed for ${PROGRAM} (${status})")
endif()
execute_process(COMMAND gzip -9n -c "${work}/${page}" OUTPUT_FILE "${OUTPUT}" RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "gzip failed for ${page}")
endif()
