export type { Output } from './display.js';
export { type Io, main, usage } from './main.js';
