// The access loggers this build implements; each module registers its factory.
import './file.js';
