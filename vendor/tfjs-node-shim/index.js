// danfojs-node requires "@tensorflow/tfjs-node" only for tensor helpers it never needs native speed for.
module.exports = require("@tensorflow/tfjs");
