import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { Transaction } from './sql.js';

/**
 * Opens a transaction for writes of several owners that must commit together
 * (a batch id and its job's column; a job's end and its webhook deliveries).
 * The callers hand the transaction to each owner; none of them sees a table.
 */
@Injectable()
export class UnitOfWork {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  run<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(work);
  }
}
