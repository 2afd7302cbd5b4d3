// Imports only the error class: tree-shaking must leave out every wasm file and the glue.
import { HoviatError } from 'hoviat';
window.isHoviatError = (e) => e instanceof HoviatError;
