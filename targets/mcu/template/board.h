/* The few board services main.c needs: UART, a cycle counter, startup. */
#ifndef EDGEC_BOARD_H
#define EDGEC_BOARD_H

#include <stddef.h>
#include <stdint.h>

void board_init(void);
void board_uart_write(const char *data, size_t n);
void board_uart_read(uint8_t *data, size_t n);
uint64_t board_cycles(void);

#endif
