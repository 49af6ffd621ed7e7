import { Controller, Get, Param, Res } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Public } from '../auth/signed.decorator.js';
import { ApiException } from '../common/errors/api-exception.js';
import { ERROR_TITLES, ErrorCode } from '../common/errors/error-code.js';
import { SAMPLE_NAMES, samplePhotos } from './sample-photos.js';

/**
 * The sample car photos (sample-photos.ts) for a first batch in offline mode:
 * Swagger's request examples and the README's curl session point at them.
 * Mounted only in offline mode or with SERVE_SAMPLES=true (SamplesModule).
 */
@ApiTags('samples')
@Public()
@Controller('samples')
export class SamplesController {
  @Get(':name')
  @ApiOperation({ summary: 'A sample car photo (PNG), served in offline mode or with SERVE_SAMPLES=true' })
  @ApiParam({ name: 'name', enum: SAMPLE_NAMES })
  @ApiOkResponse({ description: 'The photo', content: { 'image/png': { schema: { type: 'string', format: 'binary' } } } })
  @ApiNotFoundResponse({
    description: 'No sample photo of that name',
    schema: {
      type: 'object',
      properties: { error: { type: 'string' }, message: { type: 'string' }, code: { type: 'string', enum: [ErrorCode.NotFound] } },
      required: ['error', 'message', 'code'],
    },
    example: {
      error: ERROR_TITLES[ErrorCode.NotFound],
      message: 'No sample photo car-9.png; there are car-1.png, car-2.png, car-3.png',
      code: ErrorCode.NotFound,
    },
  })
  photo(@Param('name') name: string, @Res() res: Response): void {
    const photo = samplePhotos().get(name);
    if (!photo) throw new ApiException(404, ErrorCode.NotFound, `No sample photo ${name}; there are ${SAMPLE_NAMES.join(', ')}`);
    res.setHeader('Content-Type', photo.contentType);
    res.setHeader('Content-Length', String(photo.bytes.length));
    res.end(photo.bytes);
  }
}
