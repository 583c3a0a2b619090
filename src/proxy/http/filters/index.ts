// The HTTP filters this build implements; each module registers its factory.
import './cors.js';
