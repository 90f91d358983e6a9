import { describe } from 'vitest';
import { cephGate, createTestBucket } from '../helpers/ceph.js';
import { describeDriverConformance } from './conformance.js';

describe.runIf(cephGate('S3 driver conformance (Ceph radosgw)'))('s3 (Ceph radosgw)', () => {
  describeDriverConformance('s3', async () => {
    const bucket = await createTestBucket('conformance');
    return { driver: await bucket.driver(), cleanup: () => bucket.remove() };
  });
});
