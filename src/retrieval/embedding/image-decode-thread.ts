// Entry point of an image-decoding thread, so that inflating and resampling large images never holds the
// event loop.
import { serveTasks } from '../../lib/thread-pool.js';
import { decodeImages } from './image-decode.js';

serveTasks(decodeImages);
