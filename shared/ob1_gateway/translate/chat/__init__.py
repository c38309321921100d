"""Chat completions, which go upstream nearly as they come: the fields a body may carry (``chat_fields``), the
system-message hoist some upstream models need (``system_hoist``), the stream passed through with its
completeness judged (``chat_stream``), and the gateway's web searches' citations in the answer
(``chat_citations``)."""
