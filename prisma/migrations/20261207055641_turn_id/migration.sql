/*
  Warnings:

  - A unique constraint covering the columns `[conversationId,turnId]` on the table `turn` will be added. If there are existing duplicate values, this will fail.

*/
-- AlterTable
ALTER TABLE "turn" ADD COLUMN     "turnId" TEXT;

-- CreateIndex
CREATE UNIQUE INDEX "turn_conversationId_turnId_key" ON "turn"("conversationId", "turnId");
