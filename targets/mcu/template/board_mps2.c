/* MPS2 FPGA boards (AN386 Cortex-M4, AN500 Cortex-M7) as QEMU models them: CMSDK APB
 * UART0 at 0x40004000, SysTick for cycles, the vector table and reset code. Other boards
 * replace this file (same board.h). */
#include <stdint.h>
#include <string.h>

#include "board.h"

#define UART0_DATA (*(volatile uint32_t *)0x40004000u)
#define UART0_STATE (*(volatile uint32_t *)0x40004004u)
#define UART0_CTRL (*(volatile uint32_t *)0x40004008u)
#define UART0_BAUDDIV (*(volatile uint32_t *)0x40004010u)
#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define SCB_CPACR (*(volatile uint32_t *)0xE000ED88u)

static volatile uint32_t systick_wraps;

void board_init(void) {
    UART0_BAUDDIV = 16;
    UART0_CTRL = 3; /* TX and RX enabled */
    SYST_RVR = 0x00FFFFFFu;
    SYST_CVR = 0;
    SYST_CSR = 7; /* processor clock, interrupt, enable */
}

void board_uart_write(const char *data, size_t n) {
    size_t i;
    for (i = 0; i < n; ++i) {
        while (UART0_STATE & 1u) {} /* TX full */
        UART0_DATA = (uint8_t)data[i];
    }
}

void board_uart_read(uint8_t *data, size_t n) {
    size_t i;
    for (i = 0; i < n; ++i) {
        while (!(UART0_STATE & 2u)) {} /* RX empty */
        data[i] = (uint8_t)UART0_DATA;
    }
}

void SysTick_Handler(void) { ++systick_wraps; }

uint64_t board_cycles(void) {
    uint32_t hi, lo;
    do {
        hi = systick_wraps;
        lo = SYST_CVR;
    } while (hi != systick_wraps);
    return ((uint64_t)hi << 24) + (0x00FFFFFFu - lo);
}

/* With -icount shift=0 QEMU's virtual clock advances one ns per instruction. */
uint64_t edgec_platform_now_ns(void) { return board_cycles(); }

/* ---- reset and vectors ---- */
extern uint32_t __data_load__, __data_start__, __data_end__, __bss_start__, __bss_end__, __stack_top__;
int main(void);

void Reset_Handler(void) {
    uint32_t *src = &__data_load__, *dst = &__data_start__;
    while (dst < &__data_end__) *dst++ = *src++;
    for (dst = &__bss_start__; dst < &__bss_end__;) *dst++ = 0;
    SCB_CPACR |= 0xFu << 20; /* CP10, CP11: the FPU */
    __asm__ volatile("dsb\n isb");
    main();
    for (;;) {}
}

void Default_Handler(void) {
    static const char msg[] = "EDGEC ERROR fault\n";
    board_uart_write(msg, sizeof(msg) - 1);
    for (;;) {}
}

__attribute__((section(".vectors"), used)) void (*const vector_table[16])(void) = {
    (void (*)(void))(&__stack_top__), Reset_Handler, Default_Handler, Default_Handler, Default_Handler,
    Default_Handler, Default_Handler, 0, 0, 0, 0, Default_Handler, Default_Handler, 0, Default_Handler,
    SysTick_Handler,
};
