// Loads the addon built by node-gyp (npm ci runs `npm run build:native` at the repository root).
module.exports = require('./build/Release/packet_ring.node');
