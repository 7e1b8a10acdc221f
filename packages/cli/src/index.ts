export { main, usage } from './main.js';
