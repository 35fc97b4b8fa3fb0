package services

// GetPrepared lets the external tests run a prepared read.
var GetPrepared = getPrepared
