"""Chat completions, which go upstream nearly as they come: the fields a body may carry (``chat_fields``), the
system-message hoist some upstream models need (``system_hoist``), and the stream passed through with its
completeness judged (``chat_stream``)."""
