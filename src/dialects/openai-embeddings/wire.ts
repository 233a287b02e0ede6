/** OpenAI Embeddings response, after `openai-node` `resources/embeddings.ts` (`CreateEmbeddingResponse`). */
export interface EmbeddingsResponse {
  object: "list";
  data: { object: "embedding"; index: number; embedding: number[] | string }[];
  model: string;
  usage: { prompt_tokens: number; total_tokens: number };
}
