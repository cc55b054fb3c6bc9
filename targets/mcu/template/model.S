/* The .edgec model, byte for byte, in flash (read in place: constants are 64-aligned). */
    .section .rodata.edgec_model, "a"
    .balign 64
    .global edgec_model_data
edgec_model_data:
    .incbin "model.edgec"
    .global edgec_model_end
edgec_model_end:
    .section .note.GNU-stack, "", %progbits
