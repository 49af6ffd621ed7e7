import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/** An API client. `default` is the holder of SHARED_KEY; every job belongs to one client. */
@Entity('api_clients')
export class ApiClientEntity {
  @PrimaryColumn({ type: 'text' })
  id: string;

  @Column({ type: 'text' })
  name: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
