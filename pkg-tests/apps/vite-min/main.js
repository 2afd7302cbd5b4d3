// A page that imports only verifyToken: its production build must carry no test-kit wasm.
import { verifyToken } from 'hoviat';
window.verify = verifyToken;
