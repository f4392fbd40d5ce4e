package aichat

// SearchKnowledgeFTS exposes the FTS5 search so tests can compare the in-memory index with it.
var SearchKnowledgeFTS = searchKnowledgeFTS
