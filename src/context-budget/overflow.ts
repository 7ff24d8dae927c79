// The typed rejection when a context cannot fit, with guidance for the user.
import { ContextBudgetExceededError } from "../errors.ts";

export function budgetExceeded(modelAlias: string, inputBudget: number, estimatedTokens: number): ContextBudgetExceededError {
  const guidance =
    inputBudget <= 0
      ? `Model ${modelAlias} leaves no room for input; assign the agent a model with a larger context.`
      : `The message and the required context need about ${estimatedTokens} tokens, but ${modelAlias} accepts ${inputBudget}. Shorten the message, start a new session, or use a model with a larger context.`;
  return new ContextBudgetExceededError(guidance, Math.max(inputBudget, 0), estimatedTokens);
}
