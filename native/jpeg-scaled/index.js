'use strict';
// The compiled addon; requiring this package fails when it was not built (no libturbojpeg).
module.exports = require('./build/Release/jpeg_scaled.node');
