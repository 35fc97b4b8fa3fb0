package services

// GetPrepared lets the external tests run a prepared read.
var GetPrepared = getPrepared

// JSONArg is jsonArg, for the external tests.
var JSONArg = jsonArg

// InTx and FunnelRecordSQL let the external tests run a transaction the
// way the services do and recognise a statement prepared for it.
var (
	InTx            = inTx
	FunnelRecordSQL = funnelRecordSQL
	// MarkLeadBookedSQL is the statement confirming a booking runs on its lead.
	MarkLeadBookedSQL = markLeadBookedSQL
	// TxStatementTexts are the statements PrepareTxStatements prepares.
	TxStatementTexts = txStatementTexts
)
