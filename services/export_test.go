package services

// GetPrepared lets the external tests run a prepared read.
var GetPrepared = getPrepared

// JSONArg is jsonArg, for the external tests.
var JSONArg = jsonArg
