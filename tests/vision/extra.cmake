# CLI checks of the vision commands (label `vision`): exit codes and messages of `janus caption`,
# `janus ask` and `janus vq` on the tiny Janus checkpoint and the malformed images.
set(_vdata ${CMAKE_CURRENT_SOURCE_DIR}/data)
set(_vmodel ${_vdata}/models/tiny-janus)
set(_vimg ${_vdata}/golden/tiny-janus/images)
function(vision_cli name)
  cmake_parse_arguments(V "WILL_FAIL" "REGEX" "" ${ARGN})
  add_test(NAME vision_cli_${name} COMMAND janus_cli ${V_UNPARSED_ARGUMENTS})
  set_tests_properties(vision_cli_${name} PROPERTIES LABELS vision)
  if(V_REGEX)
    set_tests_properties(vision_cli_${name} PROPERTIES PASS_REGULAR_EXPRESSION "${V_REGEX}")
  endif()
  if(V_WILL_FAIL)
    set_tests_properties(vision_cli_${name} PROPERTIES WILL_FAIL TRUE)
  endif()
endfunction()
vision_cli(caption_two -t 1 caption -m ${_vmodel} ${_vimg}/img0_100x60_rgb.png ${_vimg}/img1_45x70_rgba.png -n 4
           REGEX "img0_100x60_rgb.png:.*img1_45x70_rgba.png:")
vision_cli(ask_ok -t 1 ask -m ${_vmodel} -i ${_vimg}/img0_100x60_rgb.png -i ${_vimg}/img2_64x64_rgb.png "What?" -n 4)
# A bad image is a runtime error (exit 1) naming the file; a missing question is a usage error (exit 2).
vision_cli(ask_truncated -t 1 ask -m ${_vmodel} -i ${_vdata}/images/bad/truncated.jpg "What?" WILL_FAIL)
vision_cli(ask_truncated_msg -t 1 ask -m ${_vmodel} -i ${_vdata}/images/bad/truncated.jpg "What?"
           REGEX "truncated.jpg: truncated JPEG")
vision_cli(ask_no_question ask -m ${_vmodel} -i ${_vimg}/img0_100x60_rgb.png WILL_FAIL)
vision_cli(caption_text_model -t 1 caption -m ${_vdata}/models/tiny-llama ${_vimg}/img0_100x60_rgb.png WILL_FAIL)
vision_cli(vq_roundtrip -t 1 vq -m ${_vmodel} --roundtrip ${_vimg}/img2_64x64_rgb.png ${CMAKE_CURRENT_BINARY_DIR}/vq_rt.png
           REGEX "16 codes")
vision_cli(vq_two_modes vq -m ${_vmodel} --encode ${_vimg}/img2_64x64_rgb.png --decode x.npy WILL_FAIL)
