import { ValidationPipe, type ValidationError } from '@nestjs/common';
import { ApiException } from '../errors/api-exception.js';
import { ErrorCode } from '../errors/error-code.js';

/** Flattens nested class-validator errors into `path: message` lines (e.g. `lots.3.images.0.url: ...`). */
export function flattenValidationErrors(errors: ValidationError[], parent = ''): string[] {
  return errors.flatMap((error) => {
    const path = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((message) => `${path}: ${message}`);
    return [...own, ...flattenValidationErrors(error.children ?? [], path)];
  });
}

/**
 * The global validation pipe: transforms to DTO classes, strips unknown
 * properties, and reports every problem at once as `400 VALIDATION_FAILED`
 * with `details.problems`. Domain rules with their own codes (limits,
 * languages, URLs, duplicates) are checked after it, by the services.
 */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    transform: true,
    whitelist: true,
    forbidUnknownValues: true,
    stopAtFirstError: false,
    exceptionFactory: (errors) => {
      const problems = flattenValidationErrors(errors);
      return new ApiException(
        400,
        ErrorCode.ValidationFailed,
        problems.slice(0, 5).join('; ') + (problems.length > 5 ? `; and ${problems.length - 5} more` : ''),
        {
          problems: problems.slice(0, 100),
        },
      );
    },
  });
}
