// Replaced at build time by tsup (define); the source value is what tests of the source see.
declare const __LLMUX_VERSION__: string | undefined;

export const VERSION: string = typeof __LLMUX_VERSION__ === "string" ? __LLMUX_VERSION__ : "0.1.0";
