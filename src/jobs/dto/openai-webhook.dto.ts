import { ApiProperty } from '@nestjs/swagger';

/** The answer to one of OpenAI's webhooks. */
export class OpenAiWebhookAckDto {
  @ApiProperty({ example: true }) received: boolean;
  @ApiProperty({ example: 'batch.completed' }) type: string;
  @ApiProperty({ example: true, description: 'A job of this service was waiting for that batch and is now due' }) job_woken: boolean;
}
